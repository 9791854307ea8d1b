/**
 * The benchmarks' load generator: `connections` undici keep-alive connections in this process, each sending
 * one POST after another (no pipelining) for `seconds`, every response read whole. A request that fails or
 * answers anything but 200 counts as an error; its latency counts too.
 */
import { Pool } from 'undici';

export interface LoadResult {
  /** Every request's latency in ms, sorted. */
  lat: number[];
  secs: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  requests: number;
}

export interface LoadTarget {
  url: string;
  headers?: Record<string, string>;
  body: string;
}

export async function load(target: LoadTarget, connections: number, seconds: number): Promise<LoadResult> {
  const u = new URL(target.url);
  const pool = new Pool(u.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 });
  const headers = { 'content-type': 'application/json', ...target.headers };
  const lat: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const r = await pool.request({ path: u.pathname + u.search, method: 'POST', headers, body: target.body });
        await r.body.arrayBuffer();
        if (r.statusCode !== 200) errors++;
      } catch {
        errors++;
      }
      lat.push(performance.now() - t0);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  await pool.close();
  return summarize(lat, elapsed, errors);
}

function summarize(lat: number[], secs: number, errors: number): LoadResult {
  lat.sort((a, b) => a - b);
  const q = (p: number): number => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return { lat, secs, rps: lat.length / secs, p50: q(0.5), p99: q(0.99), errors, requests: lat.length };
}

/** Rounds of one path merged into one result: all latencies, total time, total errors. */
export function merge(rounds: LoadResult[]): LoadResult {
  const lat = rounds.flatMap((r) => r.lat);
  return summarize(lat, rounds.reduce((a, r) => a + r.secs, 0), rounds.reduce((a, r) => a + r.errors, 0));
}
