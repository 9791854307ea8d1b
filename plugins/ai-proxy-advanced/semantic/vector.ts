/**
 * Vectors for semantic routing: float32 (what Kong's RediSearch index stores, FLOAT32), distances as the stores
 * compute them, and the byte form kept in Redis.
 *
 * Distances (semantic-routing.md §4): cosine distance = 1 − cosine similarity (RediSearch COSINE, pgvector `<=>`);
 * euclidean is what each store returns: RediSearch's L2 is the SQUARED Euclidean distance, pgvector's `<->` the
 * plain one. So `vectordb.threshold` with `distance_metric: euclidean` means a squared distance with
 * `strategy: redis` and a plain distance with `strategy: pgvector`, as in Kong.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors';

export type Metric = 'cosine' | 'euclidean';
export type DistanceFn = (a: Float32Array, b: Float32Array) => number;

export function sha256hex(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

export function cosineDistance(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    na += x * x;
    nb += y * y;
  }
  // A zero vector has no direction: as far from everything as cosine allows (RediSearch answers 1 too).
  if (na === 0 || nb === 0) return 1;
  return 1 - dot / Math.sqrt(na * nb);
}

/** Dot product, four accumulators (lets the JIT pipeline the multiply-adds: the pick's hot loop). */
export function dot(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    s0 += (a[i] as number) * (b[i] as number);
    s1 += (a[i + 1] as number) * (b[i + 1] as number);
    s2 += (a[i + 2] as number) * (b[i + 2] as number);
    s3 += (a[i + 3] as number) * (b[i + 3] as number);
  }
  for (; i < n; i++) s0 += (a[i] as number) * (b[i] as number);
  return s0 + s1 + s2 + s3;
}

export function norm(a: Float32Array): number {
  return Math.sqrt(dot(a, a));
}

export function squaredEuclidean(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return s;
}

export function euclidean(a: Float32Array, b: Float32Array): number {
  return Math.sqrt(squaredEuclidean(a, b));
}

/** The distance the configured store would compute (see the module comment). */
export function distanceFor(metric: Metric, strategy: 'redis' | 'pgvector'): DistanceFn {
  if (metric === 'cosine') return cosineDistance;
  return strategy === 'redis' ? squaredEuclidean : euclidean;
}

/** A vector whose length is not `vectordb.dimensions`: names both numbers and where it came from. */
export function vectorLengthError(where: string, got: number, want: number): ConfigError {
  return new ConfigError(`${where} returned a vector of ${got} dimensions, but vectordb.dimensions is ${want}`);
}

/** Numbers from a provider answer → float32, checking the length against vectordb.dimensions. */
export function toVector(values: unknown, dimensions: number, where: string): Float32Array {
  if (!Array.isArray(values)) throw new ConfigError(`${where} returned no embedding vector`);
  if (values.length !== dimensions) throw vectorLengthError(where, values.length, dimensions);
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ConfigError(`${where} returned a non-numeric value at position ${i} of the embedding`);
    out[i] = v;
  }
  return out;
}

/** Little-endian float32 bytes (RediSearch's FLOAT32 blob layout for HASH documents). */
export function vectorToBytes(v: Float32Array): Buffer {
  const b = Buffer.allocUnsafe(v.length * 4);
  for (let i = 0; i < v.length; i++) b.writeFloatLE(v[i] as number, i * 4);
  return b;
}

/** Bytes back to a vector; undefined when the length is not `dimensions` (a stale entry from another config). */
export function bytesToVector(b: Buffer, dimensions: number): Float32Array | undefined {
  if (b.length !== dimensions * 4) return undefined;
  const out = new Float32Array(dimensions);
  for (let i = 0; i < dimensions; i++) out[i] = b.readFloatLE(i * 4);
  return out;
}
