/**
 * Kong's core entity schemas for services, routes and plugins (kong/db/schema/entities/{services,routes,
 * plugins}.lua, typedefs.lua), written as schema arrays for the generic validator, plus the entity checks
 * Kong runs on them. Protocols the local gateway cannot proxy (tcp, grpc, …) are rejected with a clear error
 * naming the missing feature instead of being accepted and silently unroutable.
 */
import { luaMatch } from './lua-pattern';
import { type ErrorTree, type FieldDef, type FieldList } from './kong-schema';

export const ALL_PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp', 'ws', 'wss'] as const;
export const SUPPORTED_PROTOCOLS = ['http', 'https'] as const;

function supportedProtocol(v: unknown): string | undefined {
  return (SUPPORTED_PROTOCOLS as readonly string[]).includes(v as string)
    ? undefined
    : `protocol '${String(v)}' is not supported by the local gateway (supported: http, https); use Kong for it`;
}

const protocol: FieldDef = { type: 'string', one_of: [...ALL_PROTOCOLS], custom_validator: supportedProtocol };

function validatePath(path: unknown): string | undefined {
  const p = String(path);
  if (!luaMatch(p, "^/[%w%.%-%_%~%/%%%:%@%!%$%&%'%(%)%*%+%,%;%=]*$"))
    return `invalid path: '${p}' (characters outside of the reserved list of RFC 3986 found)`;
  const raw = p.replace(/%[0-9A-Fa-f]{2}/g, '___');
  const bad = /%.?.?/.exec(raw);
  if (bad) return `invalid url-encoded value: '${bad[0]}'`;
  return undefined;
}

function validateUtf8Name(name: unknown): string | undefined {
  return /^[\w.\-~\u0080-\uFFFF]+$/.test(String(name))
    ? undefined
    : `invalid value '${String(name)}': the only accepted ascii characters are alphanumerics or ., -, _, and ~`;
}

function validateHost(host: unknown): string | undefined {
  const h = String(host).replace(/\*/g, 'abc');
  const [name, port, extra] = h.startsWith('[') ? [h, undefined, undefined] : h.split(':');
  if (extra !== undefined) return `invalid value: ${String(host)}`;
  if (port !== undefined && !/^\d{1,5}$/.test(port)) return 'invalid port number';
  if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?)$/.test(name ?? ''))
    return `invalid hostname: ${String(host)}`;
  return undefined;
}

function validateRouterPath(path: unknown): string | undefined {
  const p = String(path);
  if (!p.startsWith('~')) return validatePath(p);
  try {
    new RegExp(p.slice(1));
    return undefined;
  } catch (err) {
    return `invalid regex: '${p.slice(1)}' (${(err as Error).message})`;
  }
}

const nameField: FieldDef = { type: 'string', unique: true, custom_validator: validateUtf8Name };
const tags: FieldDef = { type: 'set', elements: { type: 'string', required: true } };
const uuid: FieldDef = { type: 'string', uuid: true, auto: true };
const timestamp: FieldDef = { type: 'integer', timestamp: true, auto: true };
const timeout = (d: number): FieldDef => ({ type: 'integer', between: [1, 2 ** 31 - 2], default: d });
const foreign: FieldDef = { type: 'foreign' };

export const SERVICE_FIELDS: FieldList = [
  { id: uuid },
  { created_at: timestamp },
  { updated_at: timestamp },
  { name: nameField },
  { retries: { type: 'integer', default: 5, between: [0, 32767] } },
  { protocol: { ...protocol, required: true, default: 'http' } },
  { host: { type: 'string', required: true, custom_validator: validateHost } },
  { port: { type: 'integer', required: true, default: 80, between: [0, 65535] } },
  { path: { type: 'string', starts_with: '/', match_none: [{ pattern: '//', err: 'must not have empty segments' }], custom_validator: validatePath } },
  { connect_timeout: timeout(60000) },
  { write_timeout: timeout(60000) },
  { read_timeout: timeout(60000) },
  { tags },
  { client_certificate: foreign },
  { tls_verify: { type: 'boolean' } },
  { tls_verify_depth: { type: 'integer', default: null, between: [0, 64] } },
  { ca_certificates: { type: 'array', elements: { type: 'string', uuid: true } } },
  { enabled: { type: 'boolean', required: true, default: true } },
];

const HTTP_METHOD: FieldDef = {
  type: 'string',
  match: '^%u+$',
  err: 'invalid value; must be a valid HTTP method (uppercase letters)',
};

export const ROUTE_FIELDS: FieldList = [
  { id: uuid },
  { created_at: timestamp },
  { updated_at: timestamp },
  { name: nameField },
  {
    protocols: {
      type: 'set',
      len_min: 1,
      required: true,
      elements: protocol,
      mutually_exclusive_subsets: [['http', 'https'], ['tcp', 'tls', 'udp'], ['tls_passthrough'], ['grpc', 'grpcs']],
      default: ['http', 'https'],
    },
  },
  { https_redirect_status_code: { type: 'integer', one_of: [426, 301, 302, 307, 308], default: 426, required: true } },
  { strip_path: { type: 'boolean', required: true, default: true } },
  { preserve_host: { type: 'boolean', required: true, default: false } },
  { request_buffering: { type: 'boolean', required: true, default: true } },
  { response_buffering: { type: 'boolean', required: true, default: true } },
  { tags },
  { service: foreign },
  { snis: { type: 'set', elements: { type: 'string' } } },
  { sources: { type: 'set', elements: { type: 'record', fields: [{ ip: { type: 'string' } }, { port: { type: 'integer' } }] }, eq: null, err: "cannot set 'sources' when 'protocols' is 'http' or 'https'" } },
  { destinations: { type: 'set', elements: { type: 'record', fields: [{ ip: { type: 'string' } }, { port: { type: 'integer' } }] }, eq: null, err: "cannot set 'destinations' when 'protocols' is 'http' or 'https'" } },
  { methods: { type: 'set', elements: HTTP_METHOD } },
  {
    hosts: {
      type: 'array',
      elements: {
        type: 'string',
        match_all: [{ pattern: '^[^*]*%*?[^*]*$', err: 'invalid wildcard: must have at most one wildcard' }],
        match_any: { patterns: ['^%*%.', '%.%*$', '^[^*]*$'], err: 'invalid wildcard: must be placed at leftmost or rightmost label' },
        custom_validator: validateHost,
      },
    },
  },
  {
    paths: {
      type: 'array',
      elements: {
        type: 'string',
        match_any: { patterns: ['^/', '^~/'], err: 'should start with: / (fixed path) or ~/ (regex path)' },
        match_none: [{ pattern: '//', err: 'must not have empty segments' }],
        custom_validator: validateRouterPath,
      },
    },
  },
  {
    headers: {
      type: 'map',
      keys: {
        type: 'string',
        match_none: [{ pattern: '^[Hh][Oo][Ss][Tt]$', err: "cannot contain 'host' header, which must be specified in the 'hosts' attribute" }],
      },
      values: { type: 'array', elements: { type: 'string' } },
    },
  },
  { regex_priority: { type: 'integer', default: 0 } },
  { path_handling: { type: 'string', default: 'v0', one_of: ['v0'], err: "path_handling 'v1' is not supported by the traditional_compatible router" } },
];

export const PLUGIN_ENVELOPE_FIELDS: FieldList = [
  { id: uuid },
  { created_at: timestamp },
  { updated_at: timestamp },
  { name: { type: 'string', required: true } },
  { instance_name: nameField },
  { route: { ...foreign, default: null } },
  { service: { ...foreign, default: null } },
  { consumer: { ...foreign, default: null, eq: null, err: 'consumers are not supported by the local gateway; use Kong for consumer-scoped plugins' } },
  { consumer_group: { ...foreign, eq: null, err: 'consumer groups are not supported by the local gateway' } },
  { config: { type: 'record', required: true, fields: [] } },
  { protocols: { type: 'set', required: true, default: ['grpc', 'grpcs', 'http', 'https'], elements: { type: 'string', one_of: [...ALL_PROTOCOLS] } } },
  { enabled: { type: 'boolean', required: true, default: true } },
  { tags },
  { ordering: { type: 'record', fields: [], eq: null, err: 'dynamic plugin ordering is an Enterprise feature the local gateway does not support' } },
  { partials: { type: 'array', elements: { type: 'record', fields: [] }, eq: null, err: 'partials are not supported by the local gateway' } },
];

/** Route entity checks (routes_subschemas.lua http subschema). */
export function routeEntityErrors(route: Record<string, unknown>): ErrorTree[] {
  const empty = (v: unknown) => v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && Object.keys(v as object).length === 0);
  const protocols = Array.isArray(route.protocols) ? (route.protocols as string[]) : [];
  if (protocols.includes('https')) {
    if (['methods', 'hosts', 'headers', 'paths', 'snis'].every((f) => empty(route[f])))
      return ["must set one of 'methods', 'hosts', 'headers', 'paths', 'snis' when 'protocols' is 'https'"];
  } else if (protocols.includes('http')) {
    if (['methods', 'hosts', 'headers', 'paths'].every((f) => empty(route[f])))
      return ["must set one of 'methods', 'hosts', 'headers', 'paths' when 'protocols' is 'http'"];
  }
  return [];
}

/**
 * The services `url` shorthand (services.lua shorthand_fields): split into protocol, host, port and path.
 * Returns the field values, or an error message for the `url` field.
 */
export function expandServiceUrl(url: unknown): Record<string, unknown> | string {
  if (typeof url !== 'string') return 'expected a string';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `invalid url: ${url}`;
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  const port = parsed.port === '' ? (scheme === 'https' ? 443 : 80) : Number(parsed.port);
  const host = parsed.hostname.startsWith('[') ? parsed.hostname : parsed.hostname;
  const rawPath = url.replace(/^[a-z]+:\/\/[^/?#]*/i, '').replace(/[?#].*$/, '');
  return { protocol: scheme, host, port, path: rawPath === '' ? null : rawPath };
}
