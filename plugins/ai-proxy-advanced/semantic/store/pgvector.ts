/**
 * `vectordb.strategy: pgvector` through node-postgres. One table per namespace (plugin id and dimensions, so a
 * dimensions change starts a fresh table instead of failing inserts): `(id text primary key, vector
 * vector(<dimensions>))` with an hnsw index for the configured metric (`vector_cosine_ops` / `vector_l2_ops`),
 * queried with `<=>` (cosine distance) or `<->` (plain Euclidean distance) among the current config's
 * descriptions, nearest first.
 *
 * Fields: `host`, `port`, `database`, `user`, `password`; `timeout` bounds connecting and every query;
 * `ssl` (or `ssl_required`) turns TLS on, `ssl_verify` checks the server certificate, `ssl_cert`/`ssl_cert_key`
 * are the client certificate files, `ssl_version` pins the TLS version (`any` = Node's defaults).
 *
 * Outages: a failed query marks the store down (one transition, one log line by the router); the next operation
 * after `RETRY_AFTER_MS` tries again, and the first success marks it up so the router re-syncs.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Pool, type PoolConfig } from 'pg';
import type { FilledPgvectorConfig } from '../../../../schemas/config';
import { ConfigError } from '../../errors';
import type { NearestHit, VectorStore } from './store';

type PgvectorConfig = FilledPgvectorConfig;

export const HNSW_MAX_DIMENSIONS = 2000;

/** While down, operations fail fast for this long instead of each waiting for `timeout`. */
export const RETRY_AFTER_MS = 1000;

export function tableName(namespace: string, dimensions: number): string {
  // Plugin ids are UUIDs; anything else is reduced to [a-z0-9_] and kept within Postgres's 63-byte identifiers.
  const safe = namespace.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  return `aipa_semantic_${safe}_d${dimensions}`;
}

export function pgPoolConfig(c: PgvectorConfig): PoolConfig {
  const timeout = Math.max(1, Math.round(c.timeout));
  const cfg: PoolConfig = {
    host: c.host,
    port: c.port,
    database: c.database,
    user: c.user,
    connectionTimeoutMillis: timeout,
    query_timeout: timeout,
    max: 4,
    idleTimeoutMillis: 30_000,
  };
  if (c.password) cfg.password = c.password;
  if (c.ssl || c.ssl_required) {
    const tls: ConnectionOptions = { rejectUnauthorized: c.ssl_verify !== false };
    try {
      if (c.ssl_cert) tls.cert = readFileSync(c.ssl_cert);
      if (c.ssl_cert_key) tls.key = readFileSync(c.ssl_cert_key);
    } catch (err) {
      throw new ConfigError(`vectordb.pgvector.ssl_cert / ssl_cert_key cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (c.ssl_version === 'tlsv1_2') tls.minVersion = 'TLSv1.2';
    if (c.ssl_version === 'tlsv1_3') tls.minVersion = 'TLSv1.3';
    cfg.ssl = tls;
  }
  return cfg;
}

const literal = (v: Float32Array): string => `[${Array.from(v).join(',')}]`;

function parseVector(text: string, dimensions: number): Float32Array | undefined {
  const parts = text.replace(/^\[|\]$/g, '').split(',');
  if (parts.length !== dimensions) return undefined;
  return Float32Array.from(parts, Number);
}

export class PgvectorStore implements VectorStore {
  readonly strategy = 'pgvector' as const;
  private readonly pool: Pool;
  private readonly table: string;
  private readonly op: '<=>' | '<->';
  private readonly opsClass: string;
  private ensured: Promise<void> | undefined;
  private state: 'unknown' | 'up' | 'down' = 'unknown';
  private downSince = 0;
  private listeners: Array<(up: boolean) => void> = [];

  constructor(
    namespace: string,
    private readonly dimensions: number,
    metric: 'cosine' | 'euclidean',
    config: PgvectorConfig,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.pool = new Pool(pgPoolConfig(config));
    // An idle client losing its server emits on the pool; without a listener that would crash the process.
    this.pool.on('error', () => this.set('down'));
    this.table = tableName(namespace, dimensions);
    this.op = metric === 'cosine' ? '<=>' : '<->';
    this.opsClass = metric === 'cosine' ? 'vector_cosine_ops' : 'vector_l2_ops';
  }

  get up(): boolean {
    return this.state === 'up';
  }

  onChange(listener: (up: boolean) => void): void {
    this.listeners.push(listener);
  }

  private set(s: 'up' | 'down'): void {
    if (s === 'down') this.downSince = this.now();
    if (this.state === s) return;
    const was = this.state;
    this.state = s;
    if (s === 'up' && was === 'unknown') return;
    for (const l of this.listeners) l(s === 'up');
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.state === 'down' && this.now() - this.downSince < RETRY_AFTER_MS) throw new Error('pgvector is down');
    try {
      if (!this.ensured) this.ensured = this.ensureTable();
      await this.ensured;
      const r = await fn();
      this.set('up');
      return r;
    } catch (err) {
      this.ensured = undefined;
      this.set('down');
      throw err;
    }
  }

  private async ensureTable(): Promise<void> {
    const t = `"${this.table}"`;
    await this.pool.query('CREATE EXTENSION IF NOT EXISTS vector');
    await this.pool.query(`CREATE TABLE IF NOT EXISTS ${t} (id text PRIMARY KEY, vector vector(${this.dimensions}) NOT NULL)`);
    // pgvector's hnsw indexes `vector` columns of at most 2000 dimensions; larger ones (text-embedding-3-large's
    // 3072) are searched by a scan, exact and cheap for a table holding one row per target description.
    if (this.dimensions <= HNSW_MAX_DIMENSIONS) {
      await this.pool.query(`CREATE INDEX IF NOT EXISTS "${this.table}_${this.opsClass}" ON ${t} USING hnsw (vector ${this.opsClass})`);
    }
  }

  loadDescriptions(shas: readonly string[]): Promise<Map<string, Float32Array>> {
    return this.run(async () => {
      const r = await this.pool.query<{ id: string; v: string }>(`SELECT id, vector::text AS v FROM "${this.table}" WHERE id = ANY($1)`, [shas]);
      const out = new Map<string, Float32Array>();
      for (const row of r.rows) {
        const v = parseVector(row.v, this.dimensions);
        if (v) out.set(row.id, v);
      }
      return out;
    });
  }

  saveDescriptions(vectors: ReadonlyMap<string, Float32Array>): Promise<void> {
    return this.run(async () => {
      for (const [sha, v] of vectors) {
        await this.pool.query(`INSERT INTO "${this.table}" (id, vector) VALUES ($1, $2::vector) ON CONFLICT (id) DO UPDATE SET vector = EXCLUDED.vector`, [sha, literal(v)]);
      }
    });
  }

  nearest(vector: Float32Array, shas: readonly string[]): Promise<NearestHit[]> {
    return this.run(async () => {
      const r = await this.pool.query<{ id: string; d: number }>(
        `SELECT id, (vector ${this.op} $1::vector)::float8 AS d FROM "${this.table}" WHERE id = ANY($2) ORDER BY vector ${this.op} $1::vector`,
        [literal(vector), shas],
      );
      return r.rows.map((row) => ({ sha: row.id, distance: Number(row.d) }));
    });
  }

  async close(): Promise<void> {
    this.listeners = [];
    await this.pool.end().catch(() => undefined);
  }
}
