/**
 * `vectordb.strategy: redis` through ioredis, on any Redis ≥ 6 (plain Redis, Redis Stack, Valkey): no module is
 * needed because the nearest search runs in process (router.ts).
 *
 * Layout (Kong's namespace, semantic-routing.md §2): the description vector of plugin P lives at
 * `ai_proxy_advanced_semantic:<P>:<sha256(description)>`, as a HASH `{vector: <float32 LE bytes>, hash: <sha>}`:
 * the blob layout RediSearch indexes for HASH documents (FLOAT32), so a RediSearch FLAT index over the
 * namespace would read it too. Prompt vectors live at `ai_proxy_advanced_semantic:prompt:<sha256(embeddings URL,
 * model, dimensions, text)>` with a TTL, shared by every node. (Dimensions are in the prompt key so two configs
 * embedding the same text at different sizes do not evict each other; a stored vector of the wrong length is
 * ignored anyway.)
 *
 * Connection (every `vectordb.redis` field): standalone `host`/`port`/`database`; Sentinel when `sentinel_master`
 * or `sentinel_nodes` is set (`sentinel_role`, `sentinel_username`/`sentinel_password`); Cluster when
 * `cluster_nodes` is set (`cluster_max_redirections`) unless `connection_is_proxied` (a proxy in front of a cluster
 * speaks the standalone protocol); `username`/`password` (ACL AUTH), `ssl`/`ssl_verify`/`server_name` (TLS, SNI);
 * `connect_timeout`; `read_timeout` and `send_timeout` bound every command (ioredis has one command timeout: the
 * larger of the two). `keepalive_pool_size`/`keepalive_backlog` size nginx cosocket pools; ioredis multiplexes one
 * connection per process, so they have nothing to size. `cloud_authentication` is refused by name.
 *
 * Outages: commands fail at once while disconnected (no offline queue), ioredis reconnects with a capped backoff,
 * and the store reports each up/down transition once.
 */
import Redis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { FilledRedisConfig } from '../../../../schemas/config';
import { UnsupportedFeatureError } from '../../errors';
import { bytesToVector, vectorToBytes } from '../vector';
import type { VectorStore } from './store';

export const KEY_PREFIX = 'ai_proxy_advanced_semantic';
/** Prompt vectors are kept this long (seconds): long enough to serve repeated prompts, short enough to age out. */
export const PROMPT_TTL_SECONDS = 3600;
const MAX_BACKOFF_MS = 2000;

export function descriptionKey(pluginId: string, sha: string): string {
  return `${KEY_PREFIX}:${pluginId}:${sha}`;
}

export function promptKey(sha: string): string {
  return `${KEY_PREFIX}:prompt:${sha}`;
}

/** ioredis options for one `vectordb.redis` record (exported for tests). */
export function redisOptions(c: FilledRedisConfig): RedisOptions {
  if (c.cloud_authentication?.auth_provider) {
    throw new UnsupportedFeatureError('vectordb.redis.cloud_authentication is not supported by this version of ai-proxy-advanced');
  }
  const commandTimeout = Math.max(c.read_timeout, c.send_timeout) || undefined;
  const o: RedisOptions = {
    host: c.host,
    port: c.port,
    db: c.database,
    connectTimeout: c.connect_timeout,
    commandTimeout,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), MAX_BACKOFF_MS),
    lazyConnect: false,
  };
  if (c.username) o.username = c.username;
  if (c.password) o.password = c.password;
  if (c.ssl) o.tls = { rejectUnauthorized: c.ssl_verify !== false, ...(c.server_name ? { servername: c.server_name } : {}) };
  if (c.sentinel_master || (c.sentinel_nodes && c.sentinel_nodes.length > 0)) {
    o.sentinels = (c.sentinel_nodes ?? []).map((n) => ({ host: n.host, port: n.port }));
    o.name = c.sentinel_master ?? 'mymaster';
    o.role = c.sentinel_role === 'slave' ? 'slave' : 'master';
    if (c.sentinel_username) o.sentinelUsername = c.sentinel_username;
    if (c.sentinel_password) o.sentinelPassword = c.sentinel_password;
    if (c.ssl) o.enableTLSForSentinelMode = true;
    delete o.host;
    delete o.port;
  }
  return o;
}

function connect(c: FilledRedisConfig): Redis | Cluster {
  const o = redisOptions(c);
  if (c.cluster_nodes && c.cluster_nodes.length > 0 && !c.connection_is_proxied) {
    const { db: _db, ...redisOpts } = o;
    const opts: ClusterOptions = {
      redisOptions: redisOpts,
      maxRedirections: c.cluster_max_redirections,
      enableOfflineQueue: false,
      clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), MAX_BACKOFF_MS),
    };
    return new Cluster(c.cluster_nodes.map((n) => ({ host: n.ip, port: n.port })), opts);
  }
  return new Redis(o);
}

export class RedisStore implements VectorStore {
  readonly strategy = 'redis' as const;
  private readonly client: Redis | Cluster;
  private listeners: Array<(up: boolean) => void> = [];
  private state: 'unknown' | 'up' | 'down' = 'unknown';

  private readonly firstConnect: Promise<void>;

  constructor(
    private readonly pluginId: string,
    private readonly dimensions: number,
    config: FilledRedisConfig,
  ) {
    this.client = connect(config);
    // Commands fail at once while not connected (no offline queue); the description load at startup waits for
    // the first connection instead, at most connect_timeout.
    const bound = config.connect_timeout;
    this.firstConnect = new Promise<void>((resolve) => {
      const t = setTimeout(resolve, bound);
      t.unref();
      const done = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.client.once('ready', done);
      this.client.once('error', done);
    });
    this.client.on('ready', () => this.set('up'));
    // 'error' without a listener would crash the process; 'end'/'close' follow it. One transition, one event.
    this.client.on('error', () => this.set('down'));
    this.client.on('close', () => this.set('down'));
  }

  get up(): boolean {
    return this.state === 'up';
  }

  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  private set(s: 'up' | 'down'): void {
    if (this.state === s) return;
    const was = this.state;
    this.state = s;
    // The first successful connection is not a "return"; the first failure is an outage worth one line.
    if (s === 'up' && was === 'unknown') return;
    for (const l of this.listeners) l(s === 'up');
  }

  async loadDescriptions(shas: readonly string[]): Promise<Map<string, Float32Array>> {
    await this.firstConnect;
    const out = new Map<string, Float32Array>();
    // One command per key: in a cluster the keys live in different slots, so no MGET/pipeline across them.
    const got = await Promise.all(shas.map((sha) => this.client.hgetBuffer(descriptionKey(this.pluginId, sha), 'vector')));
    got.forEach((b, i) => {
      const v = b ? bytesToVector(b, this.dimensions) : undefined;
      if (v) out.set(shas[i] as string, v);
    });
    return out;
  }

  async saveDescriptions(vectors: ReadonlyMap<string, Float32Array>): Promise<void> {
    await this.firstConnect;
    await Promise.all(
      [...vectors].map(([sha, v]) => this.client.hset(descriptionKey(this.pluginId, sha), 'vector', vectorToBytes(v), 'hash', sha)),
    );
  }

  async getPrompt(key: string): Promise<Float32Array | undefined> {
    const b = await this.client.getBuffer(promptKey(key));
    return b ? bytesToVector(b, this.dimensions) : undefined;
  }

  async setPrompt(key: string, vector: Float32Array): Promise<void> {
    await this.client.set(promptKey(key), vectorToBytes(vector), 'EX', PROMPT_TTL_SECONDS);
  }

  async close(): Promise<void> {
    this.listeners = [];
    this.client.disconnect();
  }
}
