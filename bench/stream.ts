/**
 * `npm run bench -- stream`: streamed chat completions (SSE) from one local OpenAI-style upstream
 * (bench/lib/sse-upstream.ts), five ways, in one run:
 *   direct      the upstream itself (baseline)
 *   gw-plain    the local gateway proxying a plain route to it (the gateway's own cost, no plugin)
 *   floor       the local gateway with the least an external JS plugin can do to route a request
 *               (bench/floor-plugin: one set_target, two RPC round trips), same plugin-server runtime
 *   gateway     the local gateway with ai-proxy-advanced (the plugin server's stream endpoint relays the stream)
 *   portkey     Portkey's open-source gateway (npm @portkey-ai/gateway, --headless) with x-portkey-custom-host
 *   ngx-plain, ngx-floor, ngx-gateway
 *               plain, floor and gateway with nginx + ngx_lua as the gateway, the way Kong runs an external plugin
 *               (bench/nginx-kong/: the Lua bridge speaks Kong's mp_rpc to the SAME plugin-server processes; after
 *               access, Kong's proxy path: balancer_by_lua to the set_target peer over a keep-alive upstream, the
 *               stream relayed unbuffered as the endpoint's X-Accel-Buffering: no asks). Only when nginx, its lua
 *               module, MessagePack.lua and cjson are found (else one line says how to install them).
 * Figures:
 *   - time to the first streamed chunk (TTFC) added over direct, p50 of BENCH_SAMPLES requests, with a keep-alive
 *     client and with a fresh connection per request (what curl does). Target: <= 1 ms through the plugin.
 *     Then the same (BENCH_TTFB_SAMPLES, default 60) against a provider that takes TTFB_MS (default 50 ms) to its
 *     first event, as real ones do, where the plugin's early provider call has something to overlap.
 *   - SSE frames per second through the plugin against Portkey, 200-frame streams over 10 connections.
 *     Target: >= 3x. A stream that is not 200 + `data: [DONE]` counts as broken, and the bench says so.
 *   - what does not depend on the machine's load: the RPC round trips of one streamed request, counted in the
 *     plugin server's debug log (a separate gateway run with -vv), and the process hops to the first chunk.
 *   - the plugin's CPU per streamed request in one process without RPC (bench/lib/stream-alone.ts): steadier than
 *     frames/s when other work shares the machine.
 *   - optional, BENCH_STREAM_BUSY_POLL_US=<us> (e.g. 100): TTFC and CPU with busy polling on both sides of the RPC
 *     (busyPollRun below), against the same gateway without.
 * Knobs: BENCH_SAMPLES (default 200), BENCH_SECONDS (default 5, split over BENCH_ROUNDS = 5 alternating rounds),
 * BENCH_ALONE_STREAMS (default 1000).
 *
 * Where the time to first chunk goes (issue 10, strace of gateway, plugin server and upstream): not Nagle. Every
 * TCP hop has TCP_NODELAY (curl by default; Node's http servers, the local gateway's and the stream endpoint's,
 * on accept; undici's connector on the gateway -> stream endpoint and stream endpoint -> provider connections; under
 * real Kong nginx sets it on upstream connections when it sends the request and on the client connection when
 * proxying unbuffered, which the endpoint's X-Accel-Buffering: no asks for), and no hop showed a gap between one
 * side's write and the other side's read. The time is in process wake-ups: the access phase was 8 sequential RPC
 * round trips (get_headers, get_raw_body, get_path_with_query, router.get_service, set_target, set_scheme,
 * set_path, ret), then the gateway -> stream endpoint -> provider hops, all in a row. Now set_scheme is skipped
 * for an http service (7 round trips) and the provider is called as soon as get_service has answered, so
 * set_target, set_path, ret and Kong's connect to the endpoint overlap the provider's time to first event
 * (stream-endpoint.ts). Idle gaps between requests make each wake-up dearer (a keep-alive client with 30 ms
 * pauses saw 7 -> 23 ms), which is what curl in a shell loop does; that, not the fresh connection, is the
 * 30-40 ms seen with curl.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { freePort, pluginServerPid, pluginServers, ROOT, startGateway, startNode, startPortkey, stopAll, waitForPort } from './lib/procs';
import { startBenchNginx, stopAllNginx } from './lib/nginx-kong';
import { freshTtfc, keepAliveTtfc, streamLoad, type StreamTarget } from './lib/stream-client';
import { cpuSecondsFine } from './lib/proc';
import { streamCpuAlone } from './lib/stream-alone';

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
/** Samples against the provider that waits TTFB_MS (sse-upstream.ts, default 50 ms) before its first event. */
const TTFB_SAMPLES = Number(process.env.BENCH_TTFB_SAMPLES ?? 60);
const CONNECTIONS = 10;
/** Opt-in busy-polling comparison (busyPollRun); 0 or unset: not run. */
const BUSY_POLL_US = Number(process.env.BENCH_STREAM_BUSY_POLL_US ?? 0);
const BUSY_POLL_IDLE_SECONDS = 3;
/** Streams of the in-process CPU figure (streamCpuAlone). */
const ALONE_STREAMS = Number(process.env.BENCH_ALONE_STREAMS ?? 1000);
/** sse-upstream.ts's /burst length (its default). */
const BURST_FRAMES = Number(process.env.BURST_FRAMES ?? 200);
/** The main gateway's pid, for the busy-polling comparison's CPU figures. */
let mainGatewayPid = 0;
const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Count to two.' }], stream: true });

const fmt = (n: number, d = 0): string => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};

/**
 * BENCH_STREAM_BUSY_POLL_US=<us> (e.g. 100, kong/rpc/busy-poll.ts SUGGESTED_BUSY_POLL_US): a second gateway whose RPC
 * client and plugin servers busy-poll for <us> µs after each message they send, measured against the main one
 * (busy polling off, the default) and direct: TTFC added over direct (keep-alive and fresh connection, samples
 * alternated), and what it costs: the ai-proxy-advanced plugin server's CPU seconds per second while idle, and
 * while the TTFC loop runs (per second of its own samples, and per request). Gateway figures beside them.
 * This says how far TTFC can go with the same round trips when no wake-up is paid, that is, what part of the
 * gap to direct is process wake-ups.
 */
async function busyPollRun(scratch: string, configFile: string, offPort: number, upPort: number, us: number): Promise<void> {
  const prefix = path.join(scratch, 'busy-poll');
  mkdirSync(prefix, { recursive: true });
  const { port: onPort, child: onGw } = await startGateway(prefix, configFile, pluginServers(prefix, false, us));
  const pids = {
    off: { ps: pluginServerPid(scratch, 'js.socket'), gw: mainGatewayPid },
    on: { ps: pluginServerPid(prefix, 'js.socket'), gw: onGw.proc.pid! },
  };
  const target = (port: number): StreamTarget => ({ url: `http://127.0.0.1:${port}/ai-ttfc/v1/chat/completions`, headers: {}, body: CHAT });
  const targets: Record<string, StreamTarget> = {
    direct: { url: `http://127.0.0.1:${upPort}/ttfc/v1/chat/completions`, headers: { authorization: 'Bearer sk-bench' }, body: CHAT },
    off: target(offPort),
    on: target(onPort),
  };
  const pools = Object.fromEntries(Object.entries(targets).map(([n, t]) => [n, new Pool(new URL(t.url).origin, { connections: 1, keepAliveTimeout: 60_000 })]));
  const cpu = (m: 'off' | 'on'): { ps: number; gw: number } => ({ ps: cpuSecondsFine(pids[m].ps), gw: cpuSecondsFine(pids[m].gw) });
  try {
    for (let i = 0; i < 20; i++) for (const [n, t] of Object.entries(targets)) await keepAliveTtfc(pools[n]!, t);
    // Idle: nothing is sent for IDLE_SECONDS; a bounded poll must cost nothing here.
    await new Promise((r) => setTimeout(r, 500));
    const idle0 = { off: cpu('off'), on: cpu('on') };
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, BUSY_POLL_IDLE_SECONDS * 1000));
    const idleSecs = (performance.now() - t0) / 1000;
    const idle1 = { off: cpu('off'), on: cpu('on') };
    // The TTFC loop, alternating; each mode's CPU is counted over its own samples only.
    const ka: Record<string, number[]> = {};
    const fresh: Record<string, number[]> = {};
    const busy = { off: { ps: 0, gw: 0, secs: 0, requests: 0 }, on: { ps: 0, gw: 0, secs: 0, requests: 0 } };
    for (let i = 0; i < SAMPLES; i++) {
      for (const [n, t] of Object.entries(targets)) {
        const m = n === 'direct' ? undefined : (n as 'off' | 'on');
        const c0 = m && cpu(m);
        const w0 = performance.now();
        (ka[n] ??= []).push(await keepAliveTtfc(pools[n]!, t));
        (fresh[n] ??= []).push(await freshTtfc(t));
        if (m && c0) {
          const c1 = cpu(m);
          busy[m].ps += c1.ps - c0.ps;
          busy[m].gw += c1.gw - c0.gw;
          busy[m].secs += (performance.now() - w0) / 1000;
          busy[m].requests += 2;
        }
      }
    }
    console.log(`\nbusy polling (BENCH_STREAM_BUSY_POLL_US=${us}: gateway RPC client and plugin servers), p50 of ${SAMPLES} alternated samples, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log('busy poll  TTFC added keep-alive ms  TTFC added fresh ms  plugin server CPU s/s idle  CPU s/s TTFC loop  CPU ms/request   gateway CPU s/s idle  TTFC loop');
    for (const m of ['off', 'on'] as const) {
      const b = busy[m];
      console.log(
        `${(m === 'off' ? 'off' : `${us} us`).padEnd(10)} ${fmt(median(ka[m]!) - median(ka.direct!), 3).padStart(23)} ${fmt(median(fresh[m]!) - median(fresh.direct!), 3).padStart(20)} ` +
          `${fmt((idle1[m].ps - idle0[m].ps) / idleSecs, 4).padStart(27)} ${fmt(b.ps / b.secs, 3).padStart(18)} ${fmt((b.ps / b.requests) * 1000, 3).padStart(15)} ` +
          `${fmt((idle1[m].gw - idle0[m].gw) / idleSecs, 4).padStart(21)} ${fmt(b.gw / b.secs, 3).padStart(10)}`,
      );
    }
    const addedOn = median(ka.on!) - median(ka.direct!);
    console.log(`TTFC added <= 1 ms (keep-alive) with busy polling: ${addedOn <= 1 ? 'reached' : 'NOT reached'} (${fmt(addedOn, 3)} ms; without: ${fmt(median(ka.off!) - median(ka.direct!), 3)} ms)`);
  } finally {
    await Promise.all(Object.values(pools).map((p) => p.close()));
    onGw.proc.kill('SIGTERM');
  }
}

function gatewayConfig(upPort: number): string {
  const route = (name: string, kind: string): string => `
      - name: ${name}
        paths: [/${name}/v1/chat/completions]
        plugins:
          - name: ai-proxy-advanced
            config:
              targets:
                - route_type: llm/v1/chat
                  auth: { header_name: Authorization, header_value: "Bearer sk-bench" }
                  model:
                    provider: openai
                    name: gpt-4o-mini
                    options: { upstream_url: "http://127.0.0.1:${upPort}/${kind}/v1/chat/completions" }`;
  return `_format_version: "3.0"
services:
  - name: plain
    url: http://127.0.0.1:${upPort}
    routes:
      - name: plain
        paths: [/]
        strip_path: false
  - name: llm
    # The plugin points streamed requests at its own stream endpoint.
    url: http://127.0.0.1:9
    routes:${route('ai-ttfc', 'ttfc')}${route('ai-ttfb', 'ttfb')}${route('ai-burst', 'burst')}
  - name: floor
    url: http://127.0.0.1:9
    routes:
      - name: floor
        paths: [/floor]
        strip_path: true
        plugins:
          - name: floor-upstream
            config: { host: 127.0.0.1, port: ${upPort} }${relayRoutes(upPort)}
`;
}

/** bench/floor-relay's three shapes (its header says what each costs), one route per mode and provider endpoint. */
const RELAY_MODES = { 'floor-relay': 'ticket', 'relay-early': 'early', 'relay-bare': 'ticketless' } as const;

function relayRoutes(upPort: number): string {
  let out = '';
  for (const [name, mode] of Object.entries(RELAY_MODES)) {
    for (const kind of ['ttfc', 'ttfb', 'burst']) {
      out += `
      - name: ${name}-${kind}
        paths: [/${name}/${kind}/v1/chat/completions]
        strip_path: true
        plugins:
          - name: floor-relay
            config: { host: 127.0.0.1, port: ${upPort}, path: /${kind}/v1/chat/completions, mode: ${mode} }`;
    }
  }
  return out;
}

interface RpcCount {
  /** The RPC methods of the access phase and of the log phase, in order. */
  access: string[];
  log: string[];
}

/**
 * One streamed request through a gateway whose plugin server logs every RPC (`rpc: #<id> method: plugin.<M>
 * args: ...`, kong/pluginserver/listener.ts): the round trips of its access phase and of its log phase.
 */
async function countRpcs(scratch: string, configFile: string, target: (port: number) => StreamTarget, hasLog: boolean): Promise<RpcCount> {
  let log = '';
  const prefix = path.join(scratch, `count-${hasLog ? 'plugin' : 'floor'}`);
  mkdirSync(prefix, { recursive: true });
  const { port, child } = await startGateway(prefix, configFile, pluginServers(prefix, true), (text) => (log += text));
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
  try {
    const t = target(port);
    const rpcs = (): string[] => [...log.matchAll(/rpc: #\d+ method: plugin\.(\w+) args: (.*)/g)].map((m) => `${m[1]} ${m[2]}`);
    const isLog = (r: string): boolean => /^HandleEvent .*"log"/.test(r);
    // Until the log has had no new RPC for 300 ms (and shows `logs` log phases), within 10 s.
    const settle = async (logs: number): Promise<void> => {
      const deadline = Date.now() + 10_000;
      let n = -1;
      while (Date.now() < deadline) {
        const now = rpcs();
        if (now.length === n && (!hasLog || now.filter(isLog).length >= logs)) return;
        n = now.length;
        await new Promise((r) => setTimeout(r, 300));
      }
      throw new Error(`the RPC log did not settle within 10 s:\n${child.logs()}`);
    };
    // Warm-up: the instance is started (StartInstance, GetPluginInfo) and the stream endpoint listens.
    await keepAliveTtfc(pool, t);
    await settle(1);
    const from = rpcs().length;
    await keepAliveTtfc(pool, t);
    await settle(2);
    const mine = rpcs().slice(from);
    const logAt = hasLog ? mine.findIndex(isLog) : mine.length;
    const method = (r: string): string => r.slice(0, r.indexOf(' '));
    return { access: mine.slice(0, logAt).map(method), log: mine.slice(logAt).map(method) };
  } finally {
    await pool.close();
    child.proc.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(path.join(os.tmpdir(), 'aipa-bench-stream-'));
  try {
    const upPort = await freePort();
    const up = startNode('sse-upstream', [path.join(ROOT, 'dist', 'bench', 'lib', 'sse-upstream.js')], { PORT: String(upPort) });
    await waitForPort(upPort, 'sse-upstream', up);
    writeFileSync(path.join(scratch, 'kong.yml'), gatewayConfig(upPort));
    const { port: gwPort, child: gwChild } = await startGateway(scratch, path.join(scratch, 'kong.yml'), pluginServers(scratch));
    mainGatewayPid = gwChild.proc.pid!;
    const { port: pkPort, child: pkChild } = await startPortkey();
    // nginx + Lua in front of the same plugin servers (bench/lib/nginx-kong.ts).
    const ngx = await startBenchNginx(scratch, gatewayConfig(upPort), pluginServers(scratch));
    const rpc = await countRpcs(scratch, path.join(scratch, 'kong.yml'), (port) => ({ url: `http://127.0.0.1:${port}/ai-ttfc/v1/chat/completions`, headers: {}, body: CHAT }), true);
    const floorRpc = await countRpcs(scratch, path.join(scratch, 'kong.yml'), (port) => ({ url: `http://127.0.0.1:${port}/floor/ttfc/v1/chat/completions`, headers: {}, body: CHAT }), false);
    const relayRpc: Record<string, RpcCount> = {};
    for (const name of Object.keys(RELAY_MODES)) {
      relayRpc[name] = await countRpcs(scratch, path.join(scratch, 'kong.yml'), (port) => ({ url: `http://127.0.0.1:${port}/${name}/ttfc/v1/chat/completions`, headers: {}, body: CHAT }), false);
    }

    const auth = { authorization: 'Bearer sk-bench' };
    const pk = (kind: string): Record<string, string> => ({ ...auth, 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `http://127.0.0.1:${upPort}/${kind}/v1` });
    const paths = (kind: 'ttfc' | 'ttfb' | 'burst'): Record<string, StreamTarget> => ({
      direct: { url: `http://127.0.0.1:${upPort}/${kind}/v1/chat/completions`, headers: auth, body: CHAT },
      'gw-plain': { url: `http://127.0.0.1:${gwPort}/${kind}/v1/chat/completions`, headers: auth, body: CHAT },
      floor: { url: `http://127.0.0.1:${gwPort}/floor/${kind}/v1/chat/completions`, headers: auth, body: CHAT },
      gateway: { url: `http://127.0.0.1:${gwPort}/ai-${kind}/v1/chat/completions`, headers: {}, body: CHAT },
      ...Object.fromEntries(Object.keys(RELAY_MODES).map((n) => [n, { url: `http://127.0.0.1:${gwPort}/${n}/${kind}/v1/chat/completions`, headers: auth, body: CHAT }])),
      portkey: { url: `http://127.0.0.1:${pkPort}/v1/chat/completions`, headers: pk(kind), body: CHAT },
      ...(ngx
        ? {
            'ngx-plain': { url: `http://127.0.0.1:${ngx.port}/${kind}/v1/chat/completions`, headers: auth, body: CHAT },
            'ngx-floor': { url: `http://127.0.0.1:${ngx.port}/floor/${kind}/v1/chat/completions`, headers: auth, body: CHAT },
            'ngx-gateway': { url: `http://127.0.0.1:${ngx.port}/ai-${kind}/v1/chat/completions`, headers: {}, body: CHAT },
            ...Object.fromEntries(Object.keys(RELAY_MODES).map((n) => [`ngx-${n}`, { url: `http://127.0.0.1:${ngx.port}/${n}/${kind}/v1/chat/completions`, headers: auth, body: CHAT }])),
          }
        : {}),
    });

    // Time to first chunk: samples taken in turn over the paths, so that load drift hits every path alike.
    const ttfcTargets = paths('ttfc');
    const pools = Object.fromEntries(Object.entries(ttfcTargets).map(([n, t]) => [n, new Pool(new URL(t.url).origin, { connections: 1, keepAliveTimeout: 60_000 })]));
    const ka: Record<string, number[]> = {};
    const fresh: Record<string, number[]> = {};
    const broken: Record<string, string> = {};
    for (let i = 0; i < SAMPLES + 10; i++) {
      for (const [name, t] of Object.entries(ttfcTargets)) {
        if (broken[name]) continue;
        try {
          const a = await keepAliveTtfc(pools[name]!, t);
          const b = await freshTtfc(t);
          if (i >= 10) {
            (ka[name] ??= []).push(a);
            (fresh[name] ??= []).push(b);
          }
        } catch (e) {
          broken[name] = (e as Error).message.slice(0, 300);
        }
      }
    }
    // The same against a provider that takes TTFB_MS to its first event, as real ones do (fewer samples: each
    // waits that long): the plugin's last PDK calls and Kong's connect overlap that wait (stream-endpoint.ts).
    const slowTargets = Object.fromEntries(Object.entries(paths('ttfb')).filter(([n]) => ['direct', 'floor', 'gateway', 'ngx-floor', 'ngx-gateway', 'ngx-floor-relay', 'ngx-relay-early', 'ngx-relay-bare'].includes(n) && !broken[n]));
    const kaSlow: Record<string, number[]> = {};
    const freshSlow: Record<string, number[]> = {};
    for (let i = 0; i < TTFB_SAMPLES + 3; i++) {
      for (const [name, t] of Object.entries(slowTargets)) {
        const a = await keepAliveTtfc(pools[name]!, t);
        const b = await freshTtfc(t);
        if (i >= 3) {
          (kaSlow[name] ??= []).push(a);
          (freshSlow[name] ??= []).push(b);
        }
      }
    }
    await Promise.all(Object.values(pools).map((p) => p.close()));

    // Streamed frames per second.
    const burstTargets = paths('burst');
    const fps: Record<string, { frames: number; secs: number; streams: number; broken: number }> = {};
    for (const [name, t] of Object.entries(burstTargets)) if (!broken[name]) await streamLoad(t, CONNECTIONS, Math.min(1, SECONDS / 3)); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, t] of Object.entries(burstTargets)) {
        if (broken[name]) continue;
        const r = await streamLoad(t, CONNECTIONS, SECONDS / ROUNDS);
        const f = (fps[name] ??= { frames: 0, secs: 0, streams: 0, broken: 0 });
        f.frames += r.framesPerSec * (SECONDS / ROUNDS);
        f.secs += SECONDS / ROUNDS;
        f.streams += r.streams;
        f.broken += r.broken;
      }
    }

    console.log(`\nnode ${process.version}, ${os.cpus().length} CPUs; TTFC p50 of ${SAMPLES} requests per client; frames/s over ${CONNECTIONS} connections, ${SECONDS}s per path`);
    console.log(`path         TTFC keep-alive ms  TTFC fresh conn ms    frames/s  streams  broken   (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    for (const name of Object.keys(ttfcTargets)) {
      if (broken[name]) {
        console.log(`${name.padEnd(12)} does not stream correctly: ${broken[name]}`);
        continue;
      }
      const f = fps[name];
      console.log(
        `${name.padEnd(12)} ${fmt(median(ka[name] ?? []), 3).padStart(18)} ${fmt(median(fresh[name] ?? []), 3).padStart(19)} ${fmt(f ? f.frames / f.secs : NaN).padStart(11)} ${String(f?.streams ?? 0).padStart(8)} ${String(f?.broken ?? 0).padStart(7)}`,
      );
    }
    const added = (name: string, xs: Record<string, number[]>): number => median(xs[name] ?? []) - median(xs.direct ?? []);
    console.log('');
    for (const [label, xs] of [['keep-alive', ka], ['fresh connection', fresh]] as const) {
      const a = added('gateway', xs);
      console.log(
        `TTFC added over direct, ${label}: gateway+plugin ${fmt(a, 3)} ms (target <= 1 ms: ${a <= 1 ? 'met' : 'NOT met'}); ` +
          `gw-plain ${fmt(added('gw-plain', xs), 3)} ms; portkey ${fmt(added('portkey', xs), 3)} ms`,
      );
    }
    if (ngx) {
      // The same target through Kong's runtime (nginx + Lua): the claim of issue 10 with Kong's architecture.
      for (const [label, xs] of [['keep-alive', ka], ['fresh connection', fresh]] as const) {
        const a = added('ngx-gateway', xs);
        const f = added('ngx-floor', xs);
        console.log(
          `TTFC added over direct through nginx + Lua, ${label}: ngx-gateway ${fmt(a, 3)} ms (target <= 1 ms: ${a <= 1 ? 'met' : 'NOT met'}); ` +
            `ngx-floor ${fmt(f, 3)} ms (${f <= 1 ? 'met' : 'NOT met'}); ngx-plain ${fmt(added('ngx-plain', xs), 3)} ms`,
        );
      }
    }
    const g = fps.gateway;
    const p = fps.portkey;
    if (broken.portkey || !p || p.broken > 0) {
      const why = /^.*Error.*$/m.exec(pkChild.logs())?.[0]?.trim();
      console.log(`portkey's npm build did not stream correctly (${broken.portkey ?? `${p?.broken ?? 0} broken streams`}): no frames/s ratio`);
      if (why) console.log(`  portkey's log: ${why.slice(0, 200)}`);
    }
    if (g && p && !broken.portkey) {
      const ratio = g.frames / g.secs / (p.frames / p.secs);
      console.log(`frames/s gateway+plugin / portkey: ${fmt(ratio, 2)}x (target >= 3x: ${ratio >= 3 ? 'met' : 'NOT met'})`);
    }
    if (fps.direct && g) console.log(`frames/s gateway+plugin / direct: ${fmt(g.frames / g.secs / (fps.direct.frames / fps.direct.secs), 2)}x`);
    const ng = fps['ngx-gateway'];
    if (ng && fps.direct) {
      const rate = (f: { frames: number; secs: number }): number => f.frames / f.secs;
      const vsPk = p && !broken.portkey && p.broken === 0 ? `${fmt(rate(ng) / rate(p), 2)}x (target >= 3x: ${rate(ng) / rate(p) >= 3 ? 'met' : 'NOT met'})` : 'n/a (portkey broken)';
      console.log(
        `frames/s through nginx + Lua: ngx-gateway ${fmt(rate(ng))} (${ng.broken} broken), ngx-gateway / portkey ${vsPk}, ` +
          `ngx-gateway / direct ${fmt(rate(ng) / rate(fps.direct), 2)}x, ngx-floor / direct ${fps['ngx-floor'] ? fmt(rate(fps['ngx-floor']) / rate(fps.direct), 2) : 'n/a'}x`,
      );
    }
    if (kaSlow.gateway && kaSlow.direct) {
      console.log(
        `with a provider ${process.env.TTFB_MS ?? 50} ms from its first event (p50 of ${TTFB_SAMPLES}), TTFC added over direct: ` +
          `keep-alive gateway+plugin ${fmt(added('gateway', kaSlow), 3)} ms, floor ${fmt(added('floor', kaSlow), 3)} ms; ` +
          `fresh connection gateway+plugin ${fmt(added('gateway', freshSlow), 3)} ms, floor ${fmt(added('floor', freshSlow), 3)} ms`,
      );
      if (kaSlow['ngx-gateway']) {
        console.log(
          `  through nginx + Lua: keep-alive ngx-gateway ${fmt(added('ngx-gateway', kaSlow), 3)} ms, ngx-floor ${fmt(added('ngx-floor', kaSlow), 3)} ms; ` +
            `fresh connection ngx-gateway ${fmt(added('ngx-gateway', freshSlow), 3)} ms, ngx-floor ${fmt(added('ngx-floor', freshSlow), 3)} ms`,
        );
      }
    }
    // The relay floor (bench/floor-relay): what relaying the stream through the plugin server costs at the least.
    if (ka['ngx-floor'] && ka['ngx-floor-relay']) {
      const row = (n: string): string => `${n} ${fmt(added(n, ka), 3)}/${fmt(added(n, fresh), 3)}${kaSlow[n] ? `/${fmt(added(n, kaSlow), 3)}` : ''} (${n === 'ngx-floor' ? floorRpc.access.length : n === 'ngx-gateway' ? rpc.access.length : relayRpc[n.slice(4)]?.access.length} RPCs)`;
      console.log(
        `relay floor, TTFC added over direct behind nginx + Lua, keep-alive/fresh/${process.env.TTFB_MS ?? 50} ms provider in ms (access-phase RPCs): ` +
          ['ngx-floor', 'ngx-relay-bare', 'ngx-relay-early', 'ngx-floor-relay', 'ngx-gateway'].filter((n) => ka[n]).map(row).join('; '),
      );
    }
    console.log(`TTFC added over the floor plugin: keep-alive ${fmt(median(ka.gateway ?? []) - median(ka.floor ?? []), 3)} ms, fresh connection ${fmt(median(fresh.gateway ?? []) - median(fresh.floor ?? []), 3)} ms`);
    // Not load-dependent. The floor plugin's access phase is measured too (its log phase: it has none); the
    // log phase runs after the response, off the path to the first chunk.
    console.log(
      `RPC round trips per streamed request (plugin server debug log): ai-proxy-advanced access ${rpc.access.length} ` +
        `(${rpc.access.join(' ')}), log ${rpc.log.length} (${rpc.log.join(' ')}); floor plugin access ${floorRpc.access.length} (${floorRpc.access.join(' ')}); ` +
        Object.entries(relayRpc).map(([n, r]) => `${n} access ${r.access.length} (${r.access.join(' ')})`).join('; '),
    );
    // Process hops on the way to the first chunk: client -> gateway -> upstream -> gateway -> client, and two per
    // RPC round trip (gateway -> plugin server -> gateway). For the plugin the upstream Kong proxies to is its
    // stream endpoint; the provider call behind it (endpoint -> provider -> endpoint) overlaps the last RPCs and
    // Kong's connect, so it is off the path whenever the provider's first event comes sooner (the bench's does).
    console.log(
      `process hops to the first chunk: direct 2, gw-plain 4, floor ${4 + 2 * floorRpc.access.length}, gateway+plugin ${4 + 2 * rpc.access.length} ` +
        '(4, and 2 per RPC round trip of the access phase)',
    );
    // Steadier than frames/s on a loaded machine (one process's CPU clock, bench/lib/stream-alone.ts).
    const alone = await streamCpuAlone({ upstreamUrl: `http://127.0.0.1:${upPort}/burst/v1/chat/completions`, body: CHAT, streams: ALONE_STREAMS });
    console.log(
      `plugin CPU per streamed request in one process, no RPC (access, stream endpoint, relay, and the reading client): ` +
        `${fmt(alone.perStream)} µs per ${BURST_FRAMES}-frame stream, ${fmt(alone.perFrame, 2)} µs per frame (load average ${os.loadavg()[0]!.toFixed(2)})`,
    );
    if (BUSY_POLL_US > 0) await busyPollRun(scratch, path.join(scratch, 'kong.yml'), gwPort, upPort, BUSY_POLL_US);
  } finally {
    // nginx is not one of procs.ts's children: stopped here, however the bench ends (its workers go with it).
    await stopAllNginx();
    stopAll();
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  stopAll();
  console.error(e.stack ?? e.message);
  process.exitCode = 1;
});
