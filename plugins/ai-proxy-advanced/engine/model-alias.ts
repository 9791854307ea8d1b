/**
 * `targets[].model.model_alias` (3.14): the request body's `model` picks the targets whose alias it names, and
 * the balancer chooses among those only (failover too). Kong's public docs (developer.konghq.com: the
 * route-requests-by-model-alias how-to, the basic-llm-routing, claude-code-sso, github-copilot-byok and
 * llm-cost-optimization cookbooks; 3.14 changelog "select target models by request models") say:
 *  - a body `model` equal to an alias routes to that target, whose `model.name` goes upstream;
 *  - targets sharing an alias are all admitted and `balancer.algorithm` makes the final choice;
 *  - a `model` that matches no alias, when every target has one, is `400 model not configured`.
 * Where the docs are silent (docs/model-alias.md): targets without an alias keep the pre-3.14 rules and take
 * any `model` no alias claims (own-model enforcement then applies as before); a request without `model` may go
 * to any target, as before 3.14. A config without aliases pays nothing: the index is undefined.
 */
import type { FilledTargetConfig } from '../../../schemas/config';
import { InvalidRequestError } from '../errors';
import type { ParsedBody } from './parse-request';

export interface ModelAliases {
  /** Target indexes by alias, in config order. */
  readonly byAlias: ReadonlyMap<string, readonly number[]>;
  /** Targets without an alias: what a `model` no alias claims may use. */
  readonly unaliased: readonly number[];
}

/** The alias of a target, or undefined (an empty string is no alias). */
export function aliasOf(target: { readonly model: { readonly model_alias?: string | null | undefined } }): string | undefined {
  const a = target.model.model_alias;
  return typeof a === 'string' && a !== '' ? a : undefined;
}

/** Built once per plugin instance; undefined when no target has an alias. */
export function modelAliasesOf(targets: readonly FilledTargetConfig[]): ModelAliases | undefined {
  const byAlias = new Map<string, number[]>();
  const unaliased: number[] = [];
  targets.forEach((t, i) => {
    const alias = aliasOf(t);
    if (alias === undefined) unaliased.push(i);
    else {
      const list = byAlias.get(alias);
      if (list) list.push(i);
      else byAlias.set(alias, [i]);
    }
  });
  return byAlias.size === 0 ? undefined : { byAlias, unaliased };
}

/**
 * The model the request names, when it is a non-empty string (anything else selects nothing, as Kong's own-model
 * check): JSON `model`, or the `model` field of a multipart form (audio, uploads: their `json` is empty, and
 * reading only it let a form's model pass every alias and acl model rule).
 */
export function requestedModel(parsed: Pick<ParsedBody, 'json' | 'form'>): string | undefined {
  const m = parsed.form ? parsed.form.fields.get('model') : parsed.json.model;
  return typeof m === 'string' && m !== '' ? m : undefined;
}

/**
 * The targets this request may use by its `model`, or undefined for all of them. Throws Kong's 400
 * `model not configured` when the model is no alias and every target has one.
 */
export function aliasCandidates(aliases: ModelAliases, requested: string | undefined): readonly number[] | undefined {
  if (requested === undefined) return undefined;
  const matched = aliases.byAlias.get(requested);
  if (matched) return matched;
  if (aliases.unaliased.length === 0) throw new InvalidRequestError('model not configured');
  return aliases.unaliased;
}
