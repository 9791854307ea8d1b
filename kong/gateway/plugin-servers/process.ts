/**
 * Plugin-server processes, managed as Kong does (kong/runloop/plugin_servers/process.lua, 3.9+):
 * - query: run `query_cmd` through `/bin/sh -c`, JSON-decode stdout, take `(dump.Plugins or dump)[1]` (3.9+
 *   registers one plugin per pluginserver entry; extras are reported and ignored), check Priority/Version;
 * - start: `exec <start_cmd>` with stdout and stderr logged line by line as `[<name>:<pid>] …`; when it exits,
 *   log `external pluginserver '<name>' terminated: …` and respawn it, at most once per second, except after
 *   exit status 127 (command not found);
 * - stop: SIGTERM.
 * Unlike Kong 3.5+, start-up waits (bounded) until the socket accepts connections, so the first requests after
 * `npm start` do not fail with a connect error while Node is still loading the plugin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Logger } from '../log';
import { pluginInfoFromDump, type PluginInfo } from '../plugin-catalog';
import type { PluginServerSettings } from '../settings';

/** Live plugin-server children: killed when this process exits, so none outlives the gateway. */
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of LIVE) c.kill('SIGTERM');
});

export class PluginServerError extends Error {
  override name = 'PluginServerError';
}

function runShell(cmd: string, timeoutMs: number): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code });
    });
  });
}

/** Runs the query command and returns the plugin it declares (Kong 3.9+: the first entry). */
export async function queryPluginServer(def: PluginServerSettings, logger: Logger, timeoutMs = 30_000): Promise<PluginInfo> {
  const r = await runShell(def.queryCmd, timeoutMs);
  if (r.stderr.trim() !== '') for (const line of r.stderr.trim().split('\n')) logger.info(`[${def.name}:query] ${line}`);
  let dump: unknown;
  try {
    dump = JSON.parse(r.stdout);
  } catch (e) {
    throw new PluginServerError(
      `failed decoding plugin info for pluginserver '${def.name}' (query_cmd exited ${String(r.code)}): ${(e as Error).message}; stdout: ${JSON.stringify(r.stdout.slice(0, 200))}`,
    );
  }
  const list = (dump !== null && typeof dump === 'object' && !Array.isArray(dump) ? (dump as { Plugins?: unknown }).Plugins : dump) as unknown;
  if (!Array.isArray(list) || list.length === 0) throw new PluginServerError(`not a plugin info table: pluginserver '${def.name}' reported ${JSON.stringify(dump)}`);
  if (list.length > 1) {
    const ignored = list.slice(1).map((p) => (p as { Name?: unknown }).Name);
    logger.warn(
      `pluginserver '${def.name}' reported ${list.length} plugins; like Kong 3.9+ only the first is registered, ignoring: ${ignored.join(', ')} (give each plugin its own pluginserver entry)`,
    );
  }
  try {
    return pluginInfoFromDump(list[0], def.name);
  } catch (e) {
    throw new PluginServerError(`pluginserver '${def.name}': ${(e as Error).message}`);
  }
}

export class PluginServerProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private lastStart = 0;
  private respawnTimer: NodeJS.Timeout | undefined;
  /** How many times the process was (re)started. */
  starts = 0;
  /** Set when the start command was not found (exit 127): Kong stops respawning. */
  gaveUp = false;

  constructor(
    readonly def: PluginServerSettings,
    private readonly logger: Logger,
    private readonly respawnIntervalMs = 1000,
    /** Variables set on top of this process's environment (which the plugin server inherits, as under Kong). */
    private readonly extraEnv: NodeJS.ProcessEnv = {},
  ) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.def.startCmd === undefined) {
      this.logger.warn(`pluginserver '${this.def.name}' has no start command: assuming external process management`);
      return;
    }
    this.stopping = false;
    this.spawnNow();
  }

  private spawnNow(): void {
    this.lastStart = Date.now();
    this.starts++;
    const child = spawn('/bin/sh', ['-c', `exec ${this.def.startCmd ?? ''}`], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.extraEnv } });
    this.child = child;
    LIVE.add(child);
    // The gateway's listeners keep the process alive; the plugin server alone must not (tests, failed starts).
    child.unref();
    for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const prefix = `[${this.def.name}:${String(child.pid)}] `;
    const pipeLines = (stream: NodeJS.ReadableStream | null): void => {
      let rest = '';
      stream?.on('data', (c: Buffer) => {
        const lines = (rest + c.toString('utf8')).split('\n');
        rest = lines.pop() ?? '';
        for (const l of lines) if (l !== '') this.logger.info(prefix + l);
      });
    };
    pipeLines(child.stdout);
    pipeLines(child.stderr);
    child.on('error', (e) => this.logger.err(`${prefix}could not start: ${e.message}`));
    child.on('exit', (code, signal) => {
      LIVE.delete(child);
      if (this.child === child) this.child = undefined;
      const reason = signal ? `signal ${signal}` : `exit ${String(code)}`;
      if (this.stopping) {
        this.logger.info(`external pluginserver '${this.def.name}' terminated: ${reason}`);
        return;
      }
      this.logger.notice(`external pluginserver '${this.def.name}' terminated: ${reason}`);
      if (code === 127) {
        this.gaveUp = true;
        this.logger.err(`external pluginserver '${this.def.name}' start command not found (status 127); not restarting`);
        return;
      }
      const wait = Math.max(0, this.lastStart + this.respawnIntervalMs - Date.now());
      this.respawnTimer = setTimeout(() => {
        this.respawnTimer = undefined;
        if (!this.stopping) {
          this.logger.notice(`restarting pluginserver '${this.def.name}'`);
          this.spawnNow();
        }
      }, wait);
    });
  }

  /** Resolves once the socket accepts a connection, or rejects after `timeoutMs`. */
  async waitReady(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.createConnection(this.def.socket);
        s.once('connect', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (ok) return;
      if (this.gaveUp) throw new PluginServerError(`pluginserver '${this.def.name}': start command not found (exit status 127): ${this.def.startCmd ?? ''}`);
      if (Date.now() > deadline) {
        throw new PluginServerError(`pluginserver '${this.def.name}' did not open its socket ${this.def.socket} within ${timeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM, as Kong.exit_worker does; resolves when the process has exited. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.respawnTimer) clearTimeout(this.respawnTimer);
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
