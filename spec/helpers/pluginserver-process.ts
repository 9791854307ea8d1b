/**
 * Starts a plugin server as a child process (ours, or stock kong-js-pluginserver from kong-pdk 0.6.0) on a
 * unix socket in a temp directory, waits until it accepts connections, and stops it with SIGTERM.
 * Also runs the one-shot dump modes.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

export type ServerKind = 'stock' | 'ours';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const OUR_CLI = path.join(REPO_ROOT, 'dist', 'kong', 'pluginserver', 'cli.js');
export const STOCK_CLI = require.resolve('kong-pdk/bin/kong-js-pluginserver');

export function cliFor(kind: ServerKind): string {
  return kind === 'ours' ? OUR_CLI : STOCK_CLI;
}

export interface RunningServer {
  kind: ServerKind;
  socketPath: string;
  proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  hasExited(): boolean;
  stop(): Promise<number | string>;
}

export function canConnect(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startServer(
  kind: ServerKind,
  opts: { pluginsDir?: string; prefix: string; sockName: string; extraArgs?: string[]; nodeArgs?: string[] },
): Promise<RunningServer> {
  const args = [...(opts.nodeArgs ?? []), cliFor(kind), '-p', opts.prefix, '--sock-name', opts.sockName];
  if (opts.pluginsDir) args.push('-d', opts.pluginsDir);
  args.push(...(opts.extraArgs ?? []));
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let done = false;
  const exited = new Promise<number | string>((resolve) =>
    proc.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const socketPath = path.join(opts.prefix, opts.sockName);
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (done) throw new Error(`${kind} plugin server exited before listening:\n${out}\n${err}`);
    if (await canConnect(socketPath)) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${kind} plugin server did not listen on ${socketPath} within 15 s:\n${out}\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    kind,
    socketPath,
    proc,
    stdout: () => out,
    stderr: () => err,
    exited,
    hasExited: () => done,
    stop: async () => {
      if (!done) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return exited;
    },
  };
}

export interface DumpResult {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export function runDump(kind: ServerKind, args: string[]): DumpResult {
  const r = spawnSync(process.execPath, [cliFor(kind), ...args], { timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.toString() };
}
