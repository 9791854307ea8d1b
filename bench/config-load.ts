/**
 * `npm run bench -- config-load`: how long POST /config of 10,000 routes holds the gateway's event loop, as the
 * longest gap a 1 ms interval timer sees (perf_hooks monitorEventLoopDelay), against a baseline in the same
 * process: the same document validated in one synchronous pass (buildSnapshot, what POST /config did before).
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Gateway } from '../kong/gateway/gateway';
import { buildSnapshot } from '../kong/gateway/declarative/load';
import { createLogger } from '../kong/gateway/log';
import { loadSettings } from '../kong/gateway/settings';

const ROUTES = Number(process.env.BENCH_ROUTES ?? 10_000);

function post(url: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function measure<T>(what: () => Promise<T>): Promise<{ maxMs: number; totalMs: number; result: T }> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  const t0 = performance.now();
  const result = await what();
  const totalMs = performance.now() - t0;
  // Let the sampling timer fire once more, so a block that ended the run is recorded too.
  await new Promise((r) => setTimeout(r, 20));
  h.disable();
  return { maxMs: h.max / 1e6, totalMs, result };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-cfg-'));
  const settings = loadSettings({ env: { KONG_PREFIX: dir, KONG_PROXY_LISTEN: '127.0.0.1:0', KONG_ADMIN_LISTEN: '127.0.0.1:0', KONG_DECLARATIVE_CONFIG: '', KONG_PLUGINS: 'bundled', KONG_NGINX_WORKER_PROCESSES: '1', KONG_PLUGINSERVER_NAMES: '' } });
  settings.pluginServers.length = 0;
  const gw = await Gateway.start({ settings, logger: createLogger('err'), env: {} });
  try {
    const doc = { _format_version: '3.0', services: [{ name: 's', url: 'http://127.0.0.1:9', routes: Array.from({ length: ROUTES }, (_, i) => ({ name: `r${i}`, paths: [`/r${i}`] })) }] };
    const base = await measure(async () => {
      await new Promise((r) => setImmediate(r));
      return buildSnapshot(doc, gw.store, 'bench').routes.length;
    });
    const admin = `http://127.0.0.1:${gw.adminAddresses[0]!.port}/config`;
    const body = JSON.stringify(doc);
    const sliced = await measure(() => post(admin, body));
    console.log(`${ROUTES} routes: baseline (one synchronous validation pass): longest event-loop block ${base.maxMs.toFixed(0)} ms of ${base.totalMs.toFixed(0)} ms`);
    console.log(`${ROUTES} routes: POST /config (status ${sliced.result}): longest event-loop block ${sliced.maxMs.toFixed(0)} ms of ${sliced.totalMs.toFixed(0)} ms; ratio ${(sliced.maxMs / base.maxMs).toFixed(3)}`);
  } finally {
    await gw.close(0);
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
