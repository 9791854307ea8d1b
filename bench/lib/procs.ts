/**
 * Child processes for the benchmarks that compare servers: free ports, spawning with captured logs, waiting
 * for a port (with a deadline), Portkey's npm gateway installed into a scratch folder, and the plugin server's
 * pid (for /proc CPU figures), and the frame every such benchmark runs in (`runBench`). Shared by bench/engine.ts,
 * bench/stream.ts, bench/busy-poll.ts and bench/cluster.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { shellQuote } from '../../kong/gateway/settings';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const PORTKEY_VERSION = '1.15';
const PORTKEY_DIR = process.env.PORTKEY_DIR ?? path.join(os.tmpdir(), `aipa-bench-portkey-${PORTKEY_VERSION}`);

/** Every process started here, killed by `stopAll()`. */
const children: ChildProcess[] = [];

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Child {
  proc: ChildProcess;
  logs: () => string;
}

/** `onOutput` sees all of the child's stdout and stderr as it comes (`logs()` keeps only the tail). */
export function startNode(what: string, args: string[], env: NodeJS.ProcessEnv, cwd = ROOT, onOutput?: (text: string) => void): Child {
  const proc = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  let out = '';
  const take = (d: Buffer): void => {
    const text = d.toString();
    onOutput?.(text);
    out = (out + text).slice(-4000);
  };
  proc.stdout?.on('data', take);
  proc.stderr?.on('data', take);
  return { proc, logs: () => `${what}: ${out}` };
}

/** Resolves once `port` accepts a connection and `ready()` agrees (e.g. nginx's workers forked); fails at the deadline. */
export async function waitForPort(port: number, what: string, child: Child, timeoutMs = 30_000, ready: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.proc.exitCode !== null) throw new Error(`${what} exited (${child.proc.exitCode}):\n${child.logs()}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => (c.destroy(), r(true)));
      c.once('error', () => r(false));
    });
    if (ok && ready()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port} within ${timeoutMs} ms:\n${child.logs()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Signals every child still running that was not signalled yet. SIGTERM by default: a gateway killed with SIGKILL
 * leaves its plugin server running.
 */
export function stopAll(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && !c.killed) c.kill(signal);
}

/** Portkey's open-source gateway (npm @portkey-ai/gateway), installed once into a scratch folder; its entry file. */
export function ensurePortkey(): string {
  const entry = path.join(PORTKEY_DIR, 'node_modules', '@portkey-ai', 'gateway', 'build', 'start-server.js');
  if (existsSync(entry)) return entry;
  mkdirSync(PORTKEY_DIR, { recursive: true });
  writeFileSync(path.join(PORTKEY_DIR, 'package.json'), '{"private":true}\n');
  process.stdout.write(`installing @portkey-ai/gateway@${PORTKEY_VERSION} into ${PORTKEY_DIR} ...\n`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', `@portkey-ai/gateway@${PORTKEY_VERSION}`], {
    cwd: PORTKEY_DIR,
    stdio: 'inherit',
  });
  if (r.status !== 0 || !existsSync(entry)) throw new Error('could not install @portkey-ai/gateway');
  return entry;
}

/** Starts Portkey headless on a free port; resolves once it listens. */
export async function startPortkey(): Promise<{ port: number; child: Child }> {
  const entry = ensurePortkey();
  const port = await freePort();
  const child = startNode('portkey', [entry, '--headless', `--port=${port}`], { NODE_ENV: 'production' }, path.dirname(entry));
  await waitForPort(port, 'portkey', child);
  return { port, child };
}

/** The pid of the plugin server the gateway spawned with `-p <prefix>`. */
export function findPluginServerPid(prefix: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('pluginserver') && cmd.includes(prefix)) return Number(d);
    } catch {
      // process gone
    }
  }
  return undefined;
}

/**
 * Five plugin servers, as Kong 3.9+ wants one per plugin: the project's runtime with ai-proxy-advanced (`js`, at
 * `-vv` when `debugRpc` to have every RPC in the log), and the same runtime serving each floor:
 * bench/floor-plugin (floor-upstream, for streams), bench/floor-relay (floor-relay: streams relayed through the
 * plugin server), bench/floor-answer (floor-answer, for buffered requests: the
 * RPC alone) and bench/floor-call (floor-call: the RPC and the provider call, in one process).
 * `root` is the checkout whose build they run (another one for the A/B benches).
 */
export function pluginServers(prefix: string, debugRpc = false, busyPollUs = 0, root = ROOT): NodeJS.ProcessEnv {
  const node = shellQuote(process.execPath);
  const cli = shellQuote(path.join(root, 'dist', 'kong', 'pluginserver', 'cli.js'));
  const floorDir = shellQuote(path.join(root, 'dist', 'bench', 'floor-plugin'));
  const answerDir = shellQuote(path.join(root, 'dist', 'bench', 'floor-answer'));
  const callDir = shellQuote(path.join(root, 'dist', 'bench', 'floor-call'));
  const relayDir = shellQuote(path.join(root, 'dist', 'bench', 'floor-relay'));
  const p = shellQuote(prefix);
  const poll = `--busy-poll-us ${busyPollUs}`;
  // An A/B base built before bench/floor-call existed runs without it (its gateway would refuse the plugin).
  const hasCall = existsSync(path.join(root, 'dist', 'bench', 'floor-call'));
  const hasRelay = existsSync(path.join(root, 'dist', 'bench', 'floor-relay'));
  return {
    KONG_PLUGINS: `bundled,ai-proxy-advanced,floor-upstream,floor-answer${hasCall ? ',floor-call' : ''}${hasRelay ? ',floor-relay' : ''}`,
    KONG_PLUGINSERVER_NAMES: `js,floor,answer${hasCall ? ',call' : ''}${hasRelay ? ',relay' : ''}`,
    KONG_PLUGINSERVER_JS_START_CMD: `${node} ${cli} -p ${p} --sock-name js.socket ${poll} ${debugRpc ? '-vv' : '-v'}`,
    KONG_PLUGINSERVER_JS_QUERY_CMD: `${node} ${cli} --dump-all-plugins`,
    KONG_PLUGINSERVER_FLOOR_START_CMD: `${node} ${cli} -p ${p} --sock-name floor.socket ${poll} -d ${floorDir} ${debugRpc ? '-vv' : '-v'}`,
    KONG_PLUGINSERVER_FLOOR_QUERY_CMD: `${node} ${cli} -d ${floorDir} --dump-all-plugins`,
    KONG_PLUGINSERVER_ANSWER_START_CMD: `${node} ${cli} -p ${p} --sock-name answer.socket ${poll} -d ${answerDir} ${debugRpc ? '-vv' : '-v'}`,
    KONG_PLUGINSERVER_ANSWER_QUERY_CMD: `${node} ${cli} -d ${answerDir} --dump-all-plugins`,
    KONG_PLUGINSERVER_CALL_START_CMD: `${node} ${cli} -p ${p} --sock-name call.socket ${poll} -d ${callDir} ${debugRpc ? '-vv' : '-v'}`,
    KONG_PLUGINSERVER_CALL_QUERY_CMD: `${node} ${cli} -d ${callDir} --dump-all-plugins`,
    // bench/floor-relay: the least a plugin that relays the stream through its own process can add.
    KONG_PLUGINSERVER_RELAY_START_CMD: `${node} ${cli} -p ${p} --sock-name relay.socket ${poll} -d ${relayDir} ${debugRpc ? '-vv' : '-v'}`,
    KONG_PLUGINSERVER_RELAY_QUERY_CMD: `${node} ${cli} -d ${relayDir} --dump-all-plugins`,
    // The gateway's side of the RPC (kong/gateway/README.md pluginserver_busy_poll_us); 0 is its default.
    KONG_PLUGINSERVER_BUSY_POLL_US: String(busyPollUs),
    ...(debugRpc ? { KONG_LOG_LEVEL: 'info' } : {}),
  };
}

/** The plugin server listening on `sockName` that the gateway with `prefix` spawned (pluginServers). */
export function pluginServerPid(prefix: string, sockName: 'js.socket' | 'floor.socket' | 'answer.socket' | 'call.socket' | 'relay.socket'): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      // `-p <prefix>` exactly: other gateways' prefixes may be folders under this one.
      if (cmd.includes('pluginserver') && cmd.includes(`\0${prefix}\0`) && cmd.includes(`\0${sockName}\0`)) return Number(d);
    } catch {
      // process gone
    }
  }
  throw new Error(`no plugin server on ${sockName} under ${prefix}`);
}

/**
 * The local gateway (`npm start`'s dist/kong/start.js) on a free port with a declarative config file; `root` is
 * the checkout whose build runs (another one for bench/gateway-ab.ts).
 */
export async function startGateway(
  prefix: string,
  configFile: string,
  env: NodeJS.ProcessEnv = {},
  onOutput?: (text: string) => void,
  root = ROOT,
): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const child = startNode('gateway', [path.join(root, 'dist', 'kong', 'start.js')], {
    KONG_PREFIX: prefix,
    KONG_PROXY_LISTEN: `127.0.0.1:${port}`,
    KONG_ADMIN_LISTEN: 'off',
    KONG_DECLARATIVE_CONFIG: configFile,
    KONG_NGINX_WORKER_PROCESSES: '1',
    KONG_LOG_LEVEL: 'warn',
    ...env,
  }, root, onOutput);
  await waitForPort(port, 'gateway', child);
  return { port, child };
}

/**
 * Runs a benchmark's `main` with a scratch folder of its own; however it ends, every child started here is
 * stopped and the folder removed, and a failure is printed and sets the exit code.
 */
export function runBench(scratchPrefix: string, main: (scratch: string) => Promise<void>): void {
  const scratch = mkdtempSync(path.join(os.tmpdir(), scratchPrefix));
  main(scratch)
    .catch((e: Error) => {
      console.error(e.stack ?? e.message);
      process.exitCode = 1;
    })
    .finally(() => {
      stopAll();
      rmSync(scratch, { recursive: true, force: true });
    });
}
