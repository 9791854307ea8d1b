/**
 * `config.acls` (3.14): allow/deny rules over who sends the request (consumer, consumer_group, header, ip, path)
 * and what it would use (model, provider). Kong's 3.14 changelog: "blocks requests matching deny rules, requires
 * allow rules to pass when present, and resolves consumer/model values once per request"; its schema: deny wins,
 * a rule's conditions are AND-ed, rules are OR-ed. `provider` can only be a target's, so the rules are decided
 * per target and filter what the balancer may pick, as circuit-open targets are skipped (docs/acls.md): a
 * request is denied (403, AccessDeniedError) when no target is left. Rules without model/provider conditions
 * give every target the same answer, which is gating the whole request.
 *
 * Facts about the request that cost a PDK round trip (consumer, groups, client IP, normalized path) are read once,
 * and only those a rule could still need for this request: a rule whose other conditions (header, model,
 * provider: known without a call) fail for every target is false whatever Kong would answer, so its facts are
 * not asked for (remoteFactsNeeded). A config without acls makes no call at all (the engine never gets here).
 */
import { BlockList } from 'node:net';
import type { AclMatch, AclRule, FilledConfig, FilledTargetConfig } from '../../../schemas/config';
import { parseIpRange } from '../../../schemas/acl-conditions';
import { AccessDeniedError } from '../errors';
import type { ClientRequest, EnginePdk } from './pdk';
import { aliasOf } from './model-alias';
import { hasTemplates, resolveNameTemplate } from './templating';
import { templateSources } from './target-context';

type Condition =
  | { kind: 'consumer'; fields: readonly string[]; values: ReadonlySet<string> }
  | { kind: 'consumer_group'; fields: readonly string[]; values: ReadonlySet<string> }
  | { kind: 'header'; name: string; values: ReadonlySet<string> }
  | { kind: 'ip'; ranges: BlockList }
  | { kind: 'path'; exact: ReadonlySet<string>; prefixes: readonly string[] }
  | { kind: 'model'; values: ReadonlySet<string> }
  | { kind: 'provider'; values: ReadonlySet<string> };

type Rule = readonly Condition[];

/** The condition kinds whose facts come from Kong, one PDK call each. */
type RemoteKind = 'consumer' | 'consumer_group' | 'ip' | 'path';
const REMOTE_KINDS: ReadonlySet<Condition['kind']> = new Set<RemoteKind>(['consumer', 'consumer_group', 'ip', 'path']);

/** A rule with conditions on facts from Kong, split once at config time: what is known locally, what costs a call. */
interface GatedRule {
  readonly local: readonly Condition[];
  readonly remote: ReadonlySet<RemoteKind>;
}

export interface CompiledAcls {
  readonly allow: readonly Rule[] | undefined;
  readonly deny: readonly Rule[];
  /** The rules, deny and allow, that read a fact from Kong (none: the acls cost no PDK call). */
  readonly gated: readonly GatedRule[];
}

/** What the rules are matched against, read once per request. */
export interface AclFacts {
  consumer: Record<string, unknown> | undefined;
  groups: Array<Record<string, unknown>>;
  ip: string | undefined;
  path: string | undefined;
  headers: ReadonlyMap<string, string[]>;
  model: string | undefined;
  /** A templated `model.name` (`$(headers.x-model)`) with this request's values; undefined when it cannot be. */
  resolveName(raw: string): string | undefined;
}

function compileCondition(m: AclMatch): Condition {
  const values = m.values.filter((v): v is string => typeof v === 'string');
  const key = m.key ?? undefined;
  switch (m.type) {
    case 'consumer':
      return { kind: 'consumer', fields: key === undefined ? ['id', 'username', 'custom_id'] : [key], values: new Set(values) };
    case 'consumer_group':
      return { kind: 'consumer_group', fields: key === undefined ? ['id', 'name'] : [key], values: new Set(values) };
    case 'header':
      return { kind: 'header', name: (key ?? '').toLowerCase(), values: new Set(values) };
    case 'ip': {
      const ranges = new BlockList();
      for (const v of values) {
        const r = parseIpRange(v);
        // The schema refused anything else (acl-conditions.ts).
        if (r) ranges.addSubnet(r.address, r.prefix, r.family);
      }
      return { kind: 'ip', ranges };
    }
    case 'path':
      return {
        kind: 'path',
        exact: new Set(values.filter((v) => !v.endsWith('*'))),
        prefixes: values.filter((v) => v.endsWith('*')).map((v) => v.slice(0, -1)),
      };
    case 'model':
      return { kind: 'model', values: new Set(values) };
    case 'provider':
      return { kind: 'provider', values: new Set(values) };
  }
}

const compileRules = (rules: readonly AclRule[] | null | undefined): Rule[] => (rules ?? []).map((r) => r.match.map(compileCondition));

/** Built once per plugin instance; undefined when there is no rule (an empty acls block is no acls). */
export function compileAcls(config: Pick<FilledConfig, 'acls'>): CompiledAcls | undefined {
  const allow = compileRules(config.acls?.allow);
  const deny = compileRules(config.acls?.deny);
  if (allow.length === 0 && deny.length === 0) return undefined;
  const gated: GatedRule[] = [];
  for (const rule of [...deny, ...allow]) {
    const remote = new Set(rule.filter((c) => REMOTE_KINDS.has(c.kind)).map((c) => c.kind as RemoteKind));
    if (remote.size > 0) gated.push({ local: rule.filter((c) => !REMOTE_KINDS.has(c.kind)), remote });
  }
  return {
    allow: allow.length > 0 ? allow : undefined,
    deny,
    gated,
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Kong's groups come as a Lua sequence of tables (`{ id, name }`); an empty Lua table arrives as `[]` or `{}`. */
function groupsOf(raw: unknown): Array<Record<string, unknown>> {
  return Array.isArray(raw) ? raw.filter(isRecord) : [];
}

/** An IPv4 client seen through an IPv6 socket (`::ffff:192.0.2.1`) is matched as the IPv4 address it is. */
function plainIp(ip: string): string {
  return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip) ? ip.slice(7) : ip;
}

/**
 * The facts from Kong this request's answer can depend on: those of every rule whose local conditions hold for at
 * least one target. A rule whose local part fails for every target holds for none, whatever its facts from Kong
 * are, so leaving them unread cannot change aclAllows for any target (spec/engine/acls.test.ts "PDK calls").
 */
export function remoteFactsNeeded(acls: CompiledAcls, local: AclFacts, targets: readonly FilledTargetConfig[]): ReadonlySet<RemoteKind> {
  const out = new Set<RemoteKind>();
  for (const rule of acls.gated) {
    let news = false;
    for (const k of rule.remote) if (!out.has(k)) news = true;
    if (!news) continue;
    if (rule.local.length === 0 || targets.some((t) => rule.local.every((c) => conditionHolds(c, local, t)))) {
      for (const k of rule.remote) out.add(k);
    }
  }
  return out;
}

export async function readAclFacts(
  acls: CompiledAcls,
  kong: EnginePdk,
  client: ClientRequest,
  model: string | undefined,
  targets: readonly FilledTargetConfig[],
): Promise<AclFacts> {
  const facts: AclFacts = {
    consumer: undefined,
    groups: [],
    ip: undefined,
    path: undefined,
    headers: client.headers,
    model,
    resolveName(raw) {
      try {
        return resolveNameTemplate(raw, templateSources(client));
      } catch {
        // The attempt refuses such a value with a 400 before any provider is called.
        return undefined;
      }
    },
  };
  const need = remoteFactsNeeded(acls, facts, targets);
  if (need.has('consumer')) {
    const consumer = await kong.client.getConsumer();
    facts.consumer = isRecord(consumer) ? consumer : undefined;
  }
  if (need.has('consumer_group')) facts.groups = groupsOf(await kong.client.getConsumerGroups());
  if (need.has('ip')) {
    const ip = await kong.client.getForwardedIp();
    facts.ip = typeof ip === 'string' && ip !== '' ? plainIp(ip) : undefined;
  }
  if (need.has('path')) {
    const path = await kong.request.getPath();
    facts.path = typeof path === 'string' ? path : undefined;
  }
  return facts;
}

function fieldIn(record: Record<string, unknown>, fields: readonly string[], values: ReadonlySet<string>): boolean {
  return fields.some((f) => {
    const v = record[f];
    return (typeof v === 'string' || typeof v === 'number') && values.has(String(v));
  });
}

/**
 * A header condition holds when any value the header was sent with is one of `values`: each field line as sent,
 * and each element of a line read as a comma-separated list (RFC 9110 §5.3: `X-Team: a` and `X-Team: b` mean
 * `X-Team: a, b`, which a proxy may send instead), trimmed of spaces and tabs; empty elements match nothing.
 * Deny rules must not be dodged by sending a denied value beside another one; quoted strings are not parsed.
 */
function headerHolds(lines: readonly string[] | undefined, values: ReadonlySet<string>): boolean {
  if (lines === undefined) return false;
  for (const line of lines) {
    if (values.has(line)) return true;
    if (!line.includes(',')) continue;
    for (const element of line.split(',')) {
      const v = element.replace(/^[ \t]+|[ \t]+$/g, '');
      if (v !== '' && values.has(v)) return true;
    }
  }
  return false;
}

function ipIn(ranges: BlockList, ip: string): boolean {
  try {
    return ranges.check(ip, ip.includes(':') ? 'ipv6' : 'ipv4');
  } catch {
    // Not an address Node can read (Kong only ever sends addresses): nothing matches it.
    return false;
  }
}

/**
 * The model names a `model` condition sees for a target: the model the client asked for; when it asked by this
 * target's `model_alias`, also the `model.name` the alias stands for (a rule may name either); when it asked for
 * none, the target's `model.name` (what it would run) and its alias. A templated name is resolved with this request's
 * headers, query and URI captures, as the attempt will resolve it: leaving it out let a client pick a denied model
 * through the header the template reads.
 */
function modelsOf(target: FilledTargetConfig, facts: AclFacts): string[] {
  const raw = target.model.name;
  const resolved = typeof raw === 'string' && hasTemplates(raw) ? facts.resolveName(raw) : raw;
  const name = typeof resolved === 'string' && resolved !== '' ? resolved : undefined;
  const alias = aliasOf(target);
  if (facts.model === undefined) return [name, alias].filter((m): m is string => m !== undefined);
  if (facts.model === alias && name !== undefined) return [alias, name];
  return [facts.model];
}

function conditionHolds(c: Condition, facts: AclFacts, target: FilledTargetConfig): boolean {
  switch (c.kind) {
    case 'consumer':
      return facts.consumer !== undefined && fieldIn(facts.consumer, c.fields, c.values);
    case 'consumer_group':
      return facts.groups.some((g) => fieldIn(g, c.fields, c.values));
    case 'header':
      return headerHolds(facts.headers.get(c.name), c.values);
    case 'ip':
      return facts.ip !== undefined && ipIn(c.ranges, facts.ip);
    case 'path': {
      const p = facts.path;
      return p !== undefined && (c.exact.has(p) || c.prefixes.some((prefix) => p.startsWith(prefix)));
    }
    case 'model':
      return modelsOf(target, facts).some((m) => c.values.has(m));
    case 'provider':
      return c.values.has(target.model.provider);
  }
}

const ruleHolds = (rule: Rule, facts: AclFacts, target: FilledTargetConfig): boolean => rule.every((c) => conditionHolds(c, facts, target));

/** Deny wins; with allow rules, one must hold; without, anything not denied is allowed. */
export function aclAllows(acls: CompiledAcls, facts: AclFacts, target: FilledTargetConfig): boolean {
  if (acls.deny.some((r) => ruleHolds(r, facts, target))) return false;
  return acls.allow === undefined || acls.allow.some((r) => ruleHolds(r, facts, target));
}

/** Indexes of the targets the rules let this request use; throws 403 when there are none. */
export function aclPermitted(acls: CompiledAcls, facts: AclFacts, targets: readonly FilledTargetConfig[]): number[] {
  const out: number[] = [];
  targets.forEach((t, i) => {
    if (aclAllows(acls, facts, t)) out.push(i);
  });
  if (out.length === 0) throw new AccessDeniedError();
  return out;
}
