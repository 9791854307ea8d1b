/**
 * The plugin's own CPU per streamed request without any RPC or gateway: access() in the bench process with a PDK
 * object that answers from memory, then the bench connects to the stream endpoint as Kong would (the path
 * set_path named) and reads the stream to its end. The provider is a real one in its own process
 * (sse-upstream.ts), so undici's and the kernel's socket work on both sides of the endpoint are included, and
 * so is the reading client's (the same for every build: compare builds, not absolute figures). One process's
 * CPU clock is far steadier on a loaded machine than frames/s across four processes.
 */
import { Pool } from 'undici';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import type { EnginePdk } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { STREAM_PATH } from '../../plugins/ai-proxy-advanced/engine/stream-endpoint';
import { pendingStreams } from '../../plugins/ai-proxy-advanced/observability/record';
import { memoryPdk } from './memory-pdk';

export interface StreamAloneOptions {
  /** The provider's chat URL (sse-upstream.ts /burst/... or /ttfc/...). */
  upstreamUrl: string;
  body: string;
  streams: number;
  warmup?: number;
  concurrency?: number;
}

/** CPU µs per stream and per SSE frame (user + system) of `streams` streamed requests, `concurrency` at a time. */
export async function streamCpuAlone(opts: StreamAloneOptions): Promise<{ perStream: number; perFrame: number }> {
  const plugin = new AiProxyAdvanced({
    targets: [
      {
        route_type: 'llm/v1/chat',
        auth: { header_name: 'Authorization', header_value: 'Bearer sk-bench' },
        model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: opts.upstreamUrl } },
      },
    ],
  } as never);
  const body = Buffer.from(opts.body);
  let pool: Pool | undefined;
  let frames = 0;
  const one = async (): Promise<void> => {
    const to = { host: '', port: 0, path: '' };
    const pdk: EnginePdk = memoryPdk({
      body,
      exit: (status, b) => {
        throw new Error(`the stream request was answered in access: ${status} ${String(b).slice(0, 200)}`);
      },
      setTarget: (host, port) => Object.assign(to, { host, port }),
      setPath: (path) => {
        to.path = path;
      },
    });
    await plugin.access(pdk);
    pool ??= new Pool(`http://${to.host}:${to.port}`, { connections: opts.concurrency ?? 10, keepAliveTimeout: 60_000 });
    const r = await pool.request({ path: to.path, method: 'POST', headers: { 'content-type': 'application/json' }, body });
    let text = '';
    for await (const c of r.body) text += (c as Buffer).toString();
    if (r.statusCode !== 200 || !text.endsWith('data: [DONE]\n\n')) throw new Error(`stream endpoint: ${r.statusCode} ${text.slice(0, 300)}`);
    frames += text.split('\n\n').length - 1;
    // What the log phase does with it (without its RPC): the record leaves the pending set.
    pendingStreams.take(to.path.slice(STREAM_PATH.length));
  };
  const run = async (count: number): Promise<void> => {
    let started = 0;
    await Promise.all(
      Array.from({ length: opts.concurrency ?? 10 }, async () => {
        while (started < count) {
          started++;
          await one();
        }
      }),
    );
  };
  try {
    await run(opts.warmup ?? 200);
    frames = 0;
    const c0 = process.cpuUsage();
    await run(opts.streams);
    const c = process.cpuUsage(c0);
    const us = c.user + c.system;
    return { perStream: us / opts.streams, perFrame: us / frames };
  } finally {
    await pool?.close();
  }
}
