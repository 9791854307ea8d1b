/**
 * A real `redis-server` for tests, started on a free port with no persistence, stoppable and restartable on the
 * same port (outage tests). Every wait has a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { once } from 'node:events';

export async function freePort(): Promise<number> {
  const s = net.createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.on('error', () => done(false));
    sock.on('connect', () => sock.write('PING\r\n'));
    // A password-protected server answers NOAUTH: it is up all the same.
    sock.on('data', (d) => done(d.toString().startsWith('+PONG') || d.toString().startsWith('-NOAUTH')));
  });
}

export class RedisServer {
  private proc: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly extraArgs: string[],
    private readonly configFile: string | undefined,
  ) {}

  /**
   * @param extraArgs more redis-server flags, e.g. ['--requirepass', 'pw'], ['--sentinel']
   * @param opts.port a chosen port (Redis Cluster needs port + 10000 free too), else a free one
   * @param opts.configFile a config file to read first (Sentinel needs one it can rewrite)
   */
  static async start(extraArgs: string[] = [], opts: { port?: number; configFile?: string } = {}): Promise<RedisServer> {
    const r = new RedisServer(opts.port ?? (await freePort()), extraArgs, opts.configFile);
    await r.startProcess();
    return r;
  }

  async startProcess(): Promise<void> {
    const config = this.configFile === undefined ? [] : [this.configFile];
    this.proc = spawn('redis-server', [...config, '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no', ...this.extraArgs], {
      stdio: 'ignore',
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await ping(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer on port ${this.port} within 10 s`);
  }

  /** Stops the server (SIGKILL: an outage, not a shutdown) and waits for the process to exit. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p || p.exitCode !== null) return;
    const exited = once(p, 'exit');
    p.kill('SIGKILL');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }
}
