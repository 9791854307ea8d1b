/**
 * What an `acls.{allow,deny}[].match[]` condition may say (3.14), beyond the types the schema lists: which `key`
 * each type reads and how `ip` and `path` values are written. One place, read by the config check
 * (entity-checks.ts `acl_condition`, so `npm run validate`, the Admin API and the plugin refuse the same rules)
 * and by the engine that evaluates the rules (plugins/ai-proxy-advanced/engine/acls.ts).
 *
 * Kong's schema only says "Helper key used by some types: consumer (id|username), consumer_group (id|name),
 * header (header name)"; the rest is ours, documented in docs/acls.md.
 */
import { isIP } from 'node:net';
import { PROVIDERS } from './definition/enums';

/** consumer: which field of the Kong consumer is compared; no key = any of them. */
export const CONSUMER_KEYS = ['id', 'username', 'custom_id'] as const;
/** consumer_group: which field of each of the request's consumer groups is compared; no key = either. */
export const CONSUMER_GROUP_KEYS = ['id', 'name'] as const;

/** An `ip` value: an address (a /32 or /128) or a CIDR block. */
export interface IpRange {
  readonly address: string;
  readonly prefix: number;
  readonly family: 'ipv4' | 'ipv6';
}

/** `10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`, `::1`; undefined when not one of these. */
export function parseIpRange(value: string): IpRange | undefined {
  const slash = value.indexOf('/');
  const address = slash < 0 ? value : value.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const bits = value.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bits)) return undefined;
    prefix = Number(bits);
    if (prefix > max) return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** An RFC 9110 field name, as a `header` condition's key must be. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

const isString = (v: unknown): v is string => typeof v === 'string';
const providers: readonly string[] = PROVIDERS;

/**
 * The problems of one condition, each at the field to fix (`key`, `values.2`) with the message to show.
 * Types the schema already refuses, and non-string values, are left to the schema.
 */
export function aclConditionProblems(condition: { type?: unknown; key?: unknown; values?: unknown }): Array<{ field: string; message: string }> {
  const out: Array<{ field: string; message: string }> = [];
  const { type, key } = condition;
  const values = Array.isArray(condition.values) ? condition.values : [];
  const hasKey = key !== undefined && key !== null;
  switch (type) {
    case 'consumer':
    case 'consumer_group': {
      const keys: readonly string[] = type === 'consumer' ? CONSUMER_KEYS : CONSUMER_GROUP_KEYS;
      if (hasKey && !(isString(key) && keys.includes(key))) {
        out.push({ field: 'key', message: `expected one of: ${keys.join(', ')} (or no key: any of them)` });
      }
      break;
    }
    case 'header':
      if (!isString(key) || !HEADER_NAME.test(key)) out.push({ field: 'key', message: 'a header condition needs the header name as its key' });
      break;
    case 'ip':
      values.forEach((v, i) => {
        if (isString(v) && parseIpRange(v) === undefined) {
          out.push({ field: `values.${i}`, message: `invalid ip address or cidr range: '${v}'` });
        }
      });
      break;
    case 'path':
      values.forEach((v, i) => {
        if (isString(v) && !v.startsWith('/')) out.push({ field: `values.${i}`, message: `a path must start with '/': '${v}'` });
      });
      break;
    case 'provider':
      // A typo in a deny rule would otherwise silently never match.
      values.forEach((v, i) => {
        if (isString(v) && !providers.includes(v)) out.push({ field: `values.${i}`, message: `expected one of: ${providers.join(', ')}` });
      });
      break;
    default:
      break;
  }
  return out;
}
