/**
 * Kong's file-log analytics checks (11-gemini and 09-streaming _integration_spec.lua `wait_for_json_log_entry`
 * and what they assert of it), read from the log-phase probe of spec/helpers/engine-gateway.ts, which records
 * kong.log.serialize() as Kong's file-log would write it.
 */
import assert from 'node:assert/strict';

/** What Kong's specs read from a file-log line's `ai.proxy`, split as they read it. */
export interface KongLoggedStats {
  /** meta and usage with llm_latency and time_per_token set to 1, as Kong's specs set them before comparing. */
  stats: { meta: Record<string, unknown>; usage: Record<string, unknown> };
  latency: number;
  timePerToken: number;
  payload: { request?: string; response?: string } | undefined;
  /** Beyond Kong (README "Analytics"), taken out of `stats` so Kong's expected block compares whole. */
  extra: { requestMode: unknown; timeToFirstToken: unknown; triedTargets: Array<Record<string, unknown>> };
}

/**
 * The log-phase record (Kong's file-log line) number `count` of a route that carries `ai.proxy`, waited for with
 * a deadline; checked as Kong's specs check it (client_ip, request and response sizes) and split for comparing.
 */
export async function kongLoggedStats(gw: { serialized(routePath: string): Array<Record<string, unknown>> }, routePath: string, count: number): Promise<KongLoggedStats> {
  const deadline = Date.now() + 10_000;
  let entry: Record<string, unknown> | undefined;
  while (!entry) {
    const entries = gw.serialized(routePath).filter((e) => (e['ai'] as { proxy?: unknown } | undefined)?.proxy !== undefined);
    entry = entries[count - 1];
    if (entry) break;
    if (Date.now() > deadline) throw new Error(`no log entry ${count} with ai.proxy for ${routePath} within 10 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(entry['client_ip'], '127.0.0.1');
  assert.equal(typeof (entry['request'] as { size?: unknown }).size, 'number');
  assert.equal(typeof (entry['response'] as { size?: unknown }).size, 'number');
  const block = structuredClone((entry['ai'] as { proxy: Record<string, unknown> }).proxy);
  const meta = block['meta'] as Record<string, unknown>;
  const usage = block['usage'] as Record<string, unknown>;
  const out: KongLoggedStats = {
    stats: { meta, usage },
    latency: meta['llm_latency'] as number,
    timePerToken: usage['time_per_token'] as number,
    payload: block['payload'] as KongLoggedStats['payload'],
    extra: { requestMode: meta['request_mode'], timeToFirstToken: usage['time_to_first_token'], triedTargets: block['tried_targets'] as Array<Record<string, unknown>> },
  };
  delete meta['request_mode'];
  delete usage['time_to_first_token'];
  meta['llm_latency'] = 1;
  usage['time_per_token'] = 1;
  return out;
}
