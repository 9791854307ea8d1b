/**
 * The Kong schema array the plugin module exports as `Schema` (kong-pdk GetPluginInfo; Kong wraps it as
 * `{config = {type = "record", fields = Schema}}`). Derived from the definition, using only declarative
 * attributes Kong's MetaSchema accepts (kong/db/schema/metaschema.lua): type, required, default, one_of,
 * between, gt, len_min, match_any, elements, fields, referenceable, encrypted, description, deprecation,
 * json_schema and declarative entity_checks.
 *
 * What a JS plugin cannot hand Kong, and where it is enforced instead (validateConfig, at plugin construction):
 * the two custom entity checks (they are Lua functions: schema.lua carries them) and the 3.8/3.9 redis
 * shorthand keys (Kong needs a Lua `func` to translate them; Kong OSS will refuse those keys as unknown).
 * `autofill` records are given their filled defaults as `default`, so Kong creates them like we do.
 */
import type { Field, RecordField } from './dsl';
import { PLUGIN_CONFIG } from './definition';
import { recordDefaults } from './defaults';

export type KongField = Record<string, unknown>;


function kongField(field: Field): KongField {
  const k: KongField = { type: field.type };
  if (field.required) k.required = true;
  if ('default' in field && field.default !== undefined) k.default = field.default;
  switch (field.type) {
    case 'string':
      if (field.one_of) k.one_of = [...field.one_of];
      if (field.len_min !== undefined) k.len_min = field.len_min;
      if (field.url) k.match_any = { patterns: ['^[%a][%w+.-]*://[^/?#]'], err: 'missing scheme or host in url' };
      if (field.referenceable) k.referenceable = true;
      if (field.encrypted) k.encrypted = true;
      break;
    case 'integer':
    case 'number':
      if (field.between) k.between = [...field.between];
      if (field.gt !== undefined) k.gt = field.gt;
      if (field.referenceable) k.referenceable = true;
      break;
    case 'array':
      k.elements = kongField(field.elements);
      if (field.len_min !== undefined) k.len_min = field.len_min;
      break;
    case 'json':
      k.json_schema = { inline: { type: 'object' } };
      break;
    case 'record': {
      k.fields = kongFields(field);
      const checks = (field.entity_checks ?? []).filter((c) => !('custom' in c));
      if (checks.length > 0) k.entity_checks = checks;
      if (field.autofill) k.default = recordDefaults(field);
      break;
    }
    case 'boolean':
      break;
  }
  if (field.description) k.description = field.description;
  if (field.deprecation) k.deprecation = { ...field.deprecation };
  return k;
}

export function kongFields(def: RecordField): KongField[] {
  return Object.entries(def.fields).map(([name, field]) => ({ [name]: kongField(field) }));
}

/** The `config` record's fields, as Kong's schema array. */
export const KONG_SCHEMA_FIELDS: ReadonlyArray<Record<string, unknown>> = kongFields(PLUGIN_CONFIG);
