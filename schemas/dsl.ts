/**
 * The vocabulary of the one config definition (schemas/definition/*). A field is written once, in Kong's own
 * schema terms (kong/db/schema/metaschema.lua: type, required, default, one_of, between, gt, len_min, elements,
 * fields, referenceable, encrypted, description, entity_checks), and everything else is derived from it:
 * the Kong schema array (kong-schema.ts), the JSON Schema ajv compiles (json-schema.ts), schema.lua (lua.ts),
 * default filling (defaults.ts), cross-field rules (entity-checks.ts) and the TypeScript types (below).
 *
 * Definitions are plain object literals written `as const satisfies RecordField`, so their literal types
 * survive and `InferRecord` can turn them into the config types at compile time: there is no generated
 * TypeScript to drift out of date.
 */

export interface FieldCommon {
  /** Kong `required`: must be present and non-null after defaults are filled. */
  readonly required?: boolean;
  /** 10..500 characters (Kong's metaschema rejects other lengths). */
  readonly description?: string;
  readonly deprecation?: { readonly message: string; readonly removal_in_version: string };
}

export interface StringField extends FieldCommon {
  readonly type: 'string';
  readonly default?: string;
  readonly one_of?: readonly string[];
  /** Accepts a `{vault://...}` reference in place of the value (checked as a reference, not as the value). */
  readonly referenceable?: boolean;
  readonly encrypted?: boolean;
  /** Kong strings have an implicit len_min of 1 (kong/db/schema/init.lua validate_field). */
  readonly len_min?: number;
  /** Kong `typedefs.url`: needs a scheme and a host (kong/db/schema/typedefs.lua validate_url). */
  readonly url?: true;
}

export interface NumberField extends FieldCommon {
  readonly type: 'integer' | 'number';
  readonly default?: number;
  readonly between?: readonly [number, number];
  readonly gt?: number;
  readonly referenceable?: boolean;
}

export interface BooleanField extends FieldCommon {
  readonly type: 'boolean';
  readonly default?: boolean;
}

export interface ArrayField extends FieldCommon {
  readonly type: 'array';
  readonly elements: Field;
  readonly default?: readonly unknown[];
  readonly len_min?: number;
}

/** Free-form JSON object (Kong `json` type); only `targets[].metadata` uses it. */
export interface JsonField extends FieldCommon {
  readonly type: 'json';
}

export interface RecordField extends FieldCommon {
  readonly type: 'record';
  readonly fields: Fields;
  /**
   * When absent (or null), the record is created from its fields' defaults instead of staying null. Emitted to
   * Kong as the record's `default`, so Kong creates it too. Only for records whose every field is optional.
   */
  readonly autofill?: true;
  readonly entity_checks?: readonly EntityCheck[];
  /** Deprecated input keys that are translated into real fields before validation (Kong shorthand_fields). */
  readonly shorthand_fields?: Readonly<Record<string, Shorthand>>;
}

export type Field = StringField | NumberField | BooleanField | ArrayField | JsonField | RecordField;
export type Fields = Readonly<Record<string, Field>>;

/** Kong's declarative `if_match` subset the definition uses. */
export interface MatchSpec {
  readonly one_of?: readonly string[];
  readonly eq?: string | boolean;
  readonly ne?: string | boolean;
}

/**
 * Cross-field rules, in Kong's entity_checks vocabulary (kong/db/schema/init.lua Schema.entity_checkers),
 * except `custom`, which names a rule implemented both in entity-checks.ts and in lua.ts.
 */
export type EntityCheck =
  | { readonly mutually_required: readonly string[] }
  | {
      readonly conditional: {
        readonly if_field: string;
        readonly if_match: MatchSpec;
        readonly then_field: string;
        readonly then_match: MatchSpec;
        readonly then_err: string;
      };
    }
  | {
      readonly conditional_at_least_one_of: {
        readonly if_field: string;
        readonly if_match: MatchSpec;
        readonly then_at_least_one_of: readonly string[];
        readonly then_err: string;
      };
    }
  | { readonly custom: CustomCheckName };

export type CustomCheckName = 'statistics_unsupported' | 'semantic_needs_descriptions' | 'native_format_targets' | 'route_type_served' | 'acl_condition';

/** A deprecated key and how it maps onto real fields (implemented in shorthands.ts and lua.ts). */
export interface Shorthand {
  readonly type: 'integer' | 'array';
  readonly translate: 'all_timeouts' | 'sentinel_nodes' | 'cluster_nodes';
  readonly description: string;
}

// ---------------------------------------------------------------------------------------------------------
// Type-level derivation of the validated config.
//
// A field is a required TypeScript property when Kong guarantees it is present after validation AND the user
// must supply it: `required: true`, no default, and (for records) at least one such field inside. Every
// other field is `?: T | null`, because Kong sends JSON null for unset fields while hand-written configs omit
// them.

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export type InferField<F> = F extends { readonly type: 'string'; readonly one_of: readonly (infer E)[] }
  ? E
  : F extends { readonly type: 'string' }
    ? string
    : F extends { readonly type: 'integer' | 'number' }
      ? number
      : F extends { readonly type: 'boolean' }
        ? boolean
        : F extends { readonly type: 'array'; readonly elements: infer El }
          ? InferField<El>[]
          : F extends { readonly type: 'json' }
            ? Record<string, unknown>
            : F extends { readonly type: 'record'; readonly fields: infer Fs }
              ? InferRecord<Fs>
              : never;

type HasMandatoryField<Fs> = true extends { [K in keyof Fs]: IsMandatory<Fs[K]> }[keyof Fs] ? true : false;

export type IsMandatory<F> = F extends { readonly required: true }
  ? F extends { readonly default: unknown }
    ? false
    : F extends { readonly type: 'record'; readonly fields: infer Fs }
      ? HasMandatoryField<Fs>
      : true
  : false;

type MandatoryKeys<Fs> = { [K in keyof Fs]: IsMandatory<Fs[K]> extends true ? K : never }[keyof Fs];
type OptionalKeys<Fs> = Exclude<keyof Fs, MandatoryKeys<Fs>>;

type Flatten<T> = { [K in keyof T]: T[K] } & {};

export type InferRecord<Fs> = Flatten<
  Mutable<{ [K in MandatoryKeys<Fs>]: InferField<Fs[K]> }> & {
    -readonly [K in OptionalKeys<Fs>]?: InferField<Fs[K]> | null;
  }
>;

// ---------------------------------------------------------------------------------------------------------
// Type-level derivation of the FILLED config: what validateConfig returns (defaults.ts fillRecord, then
// validation). A field with a `default`, an `autofill` record and a `required` field are always present and
// non-null there, recursively (records in records and in arrays are filled too), so the engine reads them
// without re-applying defaults. Every other field is `?: T | null` as in InferRecord.

type IsFilled<F> = F extends { readonly required: true }
  ? true
  : F extends { readonly default: unknown }
    ? true
    : F extends { readonly autofill: true }
      ? true
      : false;

export type InferFilledField<F> = F extends { readonly type: 'record'; readonly fields: infer Fs }
  ? InferFilledRecord<Fs>
  : F extends { readonly type: 'array'; readonly elements: infer El }
    ? InferFilledField<El>[]
    : InferField<F>;

type FilledKeys<Fs> = { [K in keyof Fs]: IsFilled<Fs[K]> extends true ? K : never }[keyof Fs];

export type InferFilledRecord<Fs> = Flatten<
  Mutable<{ [K in FilledKeys<Fs>]: InferFilledField<Fs[K]> }> & {
    -readonly [K in Exclude<keyof Fs, FilledKeys<Fs>>]?: InferFilledField<Fs[K]> | null;
  }
>;
