/**
 * The value of AI_PROXY_ADVANCED_CLUSTER_REDIS, in one of three forms (README "Shared balancer state"):
 *
 *   redis://[user:password@]host[:6379][/db][?family=6...]        one server: ioredis's own URL form, passed as is
 *   rediss://...                                                   the same over TLS
 *   redis+sentinel://[user:password@]host[:26379][,host2[:26379]...]/<master name>[/db][?sentinelUsername=&sentinelPassword=]
 *                                                                  Sentinel: ioredis `new Redis({ sentinels, name })`;
 *                                                                  user:password authenticate to the master, the
 *                                                                  query (ioredis's option names) to the sentinels
 *   redis+cluster://[user:password@]host:port[,host2:port2...]      Redis Cluster: ioredis `new Redis.Cluster(nodes)`;
 *                                                                  the hosts are seeds, the rest is discovered
 *   rediss+sentinel://, rediss+cluster://                          the same over TLS (sentinels included)
 *
 * Hosts are names, IPv4 or bracketed IPv6 (`[::1]:26379`); user and password are percent-encoded as in any URL.
 * Anything else is a ClusterSettingError naming the variable and what is wrong, never echoing the value (it
 * may hold a password).
 */
import type { ClusterOptions, RedisOptions } from 'ioredis';

export const CLUSTER_ENV = 'AI_PROXY_ADVANCED_CLUSTER_REDIS';

export class ClusterSettingError extends Error {
  readonly code = 'cluster_setting';
}

export interface HostPort {
  host: string;
  port: number;
}

export type ClusterSetting =
  | { readonly kind: 'server'; readonly url: string }
  | { readonly kind: 'sentinel'; readonly options: RedisOptions }
  | { readonly kind: 'cluster'; readonly nodes: HostPort[]; readonly redisOptions: RedisOptions };

const FORMS = 'redis://host:6379, rediss://..., redis+sentinel://host:26379,host2:26379/mymaster or redis+cluster://host:7000,host2:7001';
/** More seeds than any real deployment lists; bounds the parse. */
const MAX_HOSTS = 64;
const SENTINEL_QUERY = new Set(['sentinelUsername', 'sentinelPassword']);

function fail(what: string): never {
  throw new ClusterSettingError(`${CLUSTER_ENV}: ${what} (forms: ${FORMS})`);
}

function decode(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return fail(`the ${what} is not valid percent-encoding`);
  }
}

function hostList(text: string, defaultPort: number | undefined): HostPort[] {
  const parts = text.split(',');
  if (parts.length > MAX_HOSTS) fail(`more than ${MAX_HOSTS} hosts`);
  return parts.map((p, i) => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+)(?::(\d{1,5}))?$/.exec(p.trim());
    // Not echoed: a password with an unencoded '/', '?' or '#' ends the authority early and lands here.
    if (m === null) return fail(`host ${i + 1} is not host[:port] (a '/', '?', '#' or '@' in the user name or password must be percent-encoded)`);
    const port = m[2] === undefined ? defaultPort : Number(m[2]);
    if (port === undefined) return fail('every Redis Cluster seed needs a port (host:port)');
    if (port < 1 || port > 65535) return fail(`port ${port} is out of range`);
    return { host: m[1]!.startsWith('[') ? m[1]!.slice(1, -1) : m[1]!, port };
  });
}

function dbNumber(s: string): number {
  if (!/^\d{1,5}$/.test(s)) fail(`database '${s.slice(0, 20)}' is not a number`);
  return Number(s);
}

/** The setting from the environment: undefined when unset or empty, else a parsed form, else ClusterSettingError. */
export function clusterSetting(env: NodeJS.ProcessEnv): ClusterSetting | undefined {
  const raw = env[CLUSTER_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  return parseClusterSetting(raw);
}

export function parseClusterSetting(raw: string): ClusterSetting {
  if (raw.length > 4096) fail('longer than 4096 characters');
  const scheme = /^([a-z+]+):\/\//i.exec(raw)?.[1]?.toLowerCase();
  if (scheme === undefined) fail('not a URL');
  if (scheme === 'redis' || scheme === 'rediss') {
    // ioredis parses this form itself (user, password, db, ?family=); only check that it is a URL with a host.
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return fail('not a URL');
    }
    if (u.hostname === '') fail('no host');
    return { kind: 'server', url: raw };
  }
  const m = /^(rediss?)\+(sentinel|cluster)$/.exec(scheme);
  if (m === null) return fail(`unknown scheme ${scheme}://`);
  const tls = m[1] === 'rediss';
  const rest = raw.slice(scheme.length + 3);
  const hashAt = rest.indexOf('#');
  if (hashAt >= 0) fail('a #fragment is not part of any form');
  const qAt = rest.indexOf('?');
  const beforeQuery = qAt >= 0 ? rest.slice(0, qAt) : rest;
  const query = new URLSearchParams(qAt >= 0 ? rest.slice(qAt + 1) : '');
  const slash = beforeQuery.indexOf('/');
  const authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const path = slash >= 0 ? beforeQuery.slice(slash + 1) : '';
  const at = authority.lastIndexOf('@');
  const auth: RedisOptions = {};
  if (at >= 0) {
    const userinfo = authority.slice(0, at);
    const colon = userinfo.indexOf(':');
    const user = decode(colon >= 0 ? userinfo.slice(0, colon) : userinfo, 'user name');
    if (user !== '') auth.username = user;
    if (colon >= 0) auth.password = decode(userinfo.slice(colon + 1), 'password');
  }
  if (tls) auth.tls = {};
  const hostsText = authority.slice(at + 1);
  if (hostsText === '') fail('no host');
  const segments = path.split('/').filter((s) => s !== '');

  if (m[2] === 'cluster') {
    if (segments.length > 0) fail('Redis Cluster has no database or master name: nothing may follow the hosts');
    if ([...query.keys()].length > 0) fail('redis+cluster:// takes no ?options');
    return { kind: 'cluster', nodes: hostList(hostsText, undefined), redisOptions: auth };
  }
  const sentinels = hostList(hostsText, 26379);
  const name = segments[0] === undefined ? '' : decode(segments[0], 'master name');
  if (name === '') fail('redis+sentinel:// needs the master name after the hosts (.../mymaster)');
  if (segments.length > 2) fail('only /<master name>[/<db>] may follow the hosts');
  const options: RedisOptions = { ...auth, sentinels, name };
  if (segments[1] !== undefined) options.db = dbNumber(segments[1]);
  for (const [k, v] of query) {
    // Only a plain name is echoed: a password with an unencoded '?' makes the rest of the value a "query".
    if (!SENTINEL_QUERY.has(k)) fail(`unknown option${/^[A-Za-z_]{1,40}$/.test(k) ? ` '${k}'` : ''} (known: ${[...SENTINEL_QUERY].join(', ')})`);
    if (k === 'sentinelUsername') options.sentinelUsername = v;
    else options.sentinelPassword = v;
  }
  if (tls) options.enableTLSForSentinelMode = true;
  return { kind: 'sentinel', options };
}

/** ioredis Cluster options for a setting of kind `cluster`, given the per-connection options. */
export function clusterOptions(s: Extract<ClusterSetting, { kind: 'cluster' }>, base: RedisOptions): ClusterOptions {
  const { enableOfflineQueue, retryStrategy, lazyConnect, ...perNode } = base;
  return {
    redisOptions: { ...perNode, ...s.redisOptions },
    enableOfflineQueue,
    lazyConnect,
    clusterRetryStrategy: retryStrategy,
  };
}
