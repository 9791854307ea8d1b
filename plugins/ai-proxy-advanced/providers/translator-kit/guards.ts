/**
 * The boundary guards every provider's types.ts builds on: provider JSON is `unknown` until one of these has
 * looked at it. A field of the wrong type reads as absent, never as a wrong value.
 */

export type Json = Record<string, unknown>;

/** A plain JSON object (not null, not an array). */
export function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A finite number, else undefined. */
export function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

/** The named count fields of a usage-like object that are finite numbers; undefined when `v` is no object. */
export function counts<K extends string>(v: unknown, keys: readonly K[]): Partial<Record<K, number>> | undefined {
  if (!isObject(v)) return undefined;
  const out: Partial<Record<K, number>> = {};
  for (const k of keys) {
    const n = num(v[k]);
    if (n !== undefined) out[k] = n;
  }
  return out;
}
