/**
 * Which targets one request may use, decided once in access before any pick: `model_alias` (model-alias.ts)
 * and `acls` (acls.ts). The balancers stay unaware: what a request may not use joins the tried and circuit-open
 * targets in the set each pick skips (attempts.ts), so every algorithm, failover and `retries` work on the
 * eligible targets only. A config with neither feature has no filters and pays nothing.
 *
 * Order: a request the acls refuse on every target is 403 whatever its model (the client learns nothing about
 * the aliases); then an unknown alias is Kong's 400 `model not configured`; then 403 when the targets the alias
 * selects are all refused.
 */
import type { FilledConfig } from '../../../schemas/config';
import { AccessDeniedError } from '../errors';
import { aclPermitted, compileAcls, readAclFacts, type CompiledAcls } from './acls';
import { aliasCandidates, modelAliasesOf, requestedModel, type ModelAliases } from './model-alias';
import type { ParsedBody } from './parse-request';
import type { ClientRequest, EnginePdk } from './pdk';

export interface TargetFilters {
  readonly aliases: ModelAliases | undefined;
  readonly acls: CompiledAcls | undefined;
}

/** Built once per plugin instance; undefined when the config uses neither model_alias nor acls. */
export function targetFiltersOf(config: FilledConfig): TargetFilters | undefined {
  const aliases = modelAliasesOf(config.targets);
  const acls = compileAcls(config);
  return aliases === undefined && acls === undefined ? undefined : { aliases, acls };
}

/** The targets this request may not use (undefined: none), or the typed error that refuses it. */
export async function ineligibleTargets(
  filters: TargetFilters,
  config: FilledConfig,
  kong: EnginePdk,
  client: ClientRequest,
  parsed: Pick<ParsedBody, 'json' | 'form'>,
): Promise<ReadonlySet<number> | undefined> {
  const count = config.targets.length;
  const model = requestedModel(parsed);
  let eligible: readonly number[] | undefined;
  if (filters.acls) {
    const facts = await readAclFacts(filters.acls, kong, client, model, config.targets);
    eligible = aclPermitted(filters.acls, facts, config.targets);
  }
  if (filters.aliases) {
    const byAlias = aliasCandidates(filters.aliases, model);
    if (byAlias !== undefined) {
      const allowed = eligible === undefined ? undefined : new Set(eligible);
      eligible = allowed === undefined ? byAlias : byAlias.filter((i) => allowed.has(i));
      if (eligible.length === 0) throw new AccessDeniedError();
    }
  }
  if (eligible === undefined || eligible.length === count) return undefined;
  const keep = new Set(eligible);
  const out = new Set<number>();
  for (let i = 0; i < count; i++) if (!keep.has(i)) out.add(i);
  return out;
}

/** A pick's exclusions plus the targets this request may not use. */
export function withIneligible(exclude: ReadonlySet<number>, ineligible: ReadonlySet<number> | undefined): ReadonlySet<number> {
  if (ineligible === undefined || ineligible.size === 0) return exclude;
  if (exclude.size === 0) return ineligible;
  const out = new Set(exclude);
  for (const i of ineligible) out.add(i);
  return out;
}
