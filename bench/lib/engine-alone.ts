/**
 * The plugin's own CPU per request without any RPC: access() in the bench process with a PDK object that
 * answers from memory, against a real upstream (undici and the kernel's socket work included). Shared by
 * bench/engine.ts and bench/engine-rpc.ts so both print the same measurement.
 */
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import type { EnginePdk } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { Agent } from 'undici';
import { memoryPdk } from './memory-pdk';
import { providerDispatch } from './provider-dispatch';

export interface EngineAloneOptions {
  body: Buffer;
  headers: Record<string, string[]>;
  requests: number;
  /** Requests run first and not measured (JIT, connection pool). */
  warmup?: number;
  concurrency?: number;
}

/** CPU µs per request (user + system) of `requests` access() calls, `concurrency` at a time. */
export async function engineCpuPerRequest(config: object, opts: EngineAloneOptions): Promise<number> {
  const plugin = new AiProxyAdvanced(config as never);
  let failed = 0;
  const pdk = (): EnginePdk =>
    memoryPdk({
      body: opts.body,
      headers: opts.headers,
      exit: (status) => {
        if (status !== 200) failed++;
      },
    });
  const run = async (count: number): Promise<void> => {
    let started = 0;
    await Promise.all(
      Array.from({ length: opts.concurrency ?? 20 }, async () => {
        while (started < count) {
          started++;
          await plugin.access(pdk());
        }
      }),
    );
  };
  if (opts.warmup) await run(opts.warmup);
  const c0 = process.cpuUsage();
  await run(opts.requests);
  const c = process.cpuUsage(c0);
  if (failed > 0) throw new Error(`in-process engine run had ${failed} non-200 answers`);
  return (c.user + c.system) / opts.requests;
}

/**
 * The floor under the engine's provider call: CPU µs per request of undici alone (the same dispatch API, Agent and
 * body as upstream.ts, no plugin work) to the same upstream, `concurrency` at a time. What no plugin that owns its
 * upstream call can go below.
 */
export async function undiciCpuPerRequest(upPort: number, body: Buffer, requests: number, concurrency = 20): Promise<number> {
  const agent = new Agent({ keepAliveTimeout: 30_000 });
  const origin = `http://127.0.0.1:${upPort}`;
  const one = (): Promise<unknown> => providerDispatch(agent, origin, '/v1/chat/completions', body);
  const run = async (count: number): Promise<void> => {
    let started = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (started < count) {
          started++;
          await one();
        }
      }),
    );
  };
  await run(Math.min(2000, requests));
  const c0 = process.cpuUsage();
  await run(requests);
  const c = process.cpuUsage(c0);
  await agent.close();
  return (c.user + c.system) / requests;
}
