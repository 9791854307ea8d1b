/**
 * Where description vectors persist across processes and nodes (and, for redis, prompt vectors are shared):
 * `vectordb.strategy`. The nearest-target search itself runs in process over the vectors in memory
 * (router.ts), so a store outage never stops routing; the store is persistence and a cross-node cache.
 *
 * Every method may throw on an outage; the caller falls back and the store reports up/down transitions once
 * each through `onChange`.
 */

export interface NearestHit {
  readonly sha: string;
  readonly distance: number;
}

export interface VectorStore {
  readonly strategy: 'redis' | 'pgvector';
  /** The description vectors stored for these sha256(description) values (absent: not stored). */
  loadDescriptions(shas: readonly string[]): Promise<Map<string, Float32Array>>;
  /** Store description vectors (sha256(description) → vector). */
  saveDescriptions(vectors: ReadonlyMap<string, Float32Array>): Promise<void>;
  /** A cached prompt vector (redis only), or undefined. */
  getPrompt?(key: string): Promise<Float32Array | undefined>;
  setPrompt?(key: string, vector: Float32Array): Promise<void>;
  /** The store's own nearest search among `shas`, nearest first (pgvector `<=>` / `<->`). */
  nearest?(vector: Float32Array, shas: readonly string[]): Promise<NearestHit[]>;
  /** True while the last operation or connection event said the store is reachable. */
  readonly up: boolean;
  /** Called on each down → up transition (the router re-syncs) and up → down. */
  onChange(listener: (up: boolean) => void): void;
  close(): Promise<void>;
}
