/**
 * The local Kong-compatible gateway: wires settings, plugin servers, the declarative config, the router, the
 * simulated workers, the proxy listener and the Admin API. Start-up follows Kong's order: query every plugin
 * server (bad dumps fail start-up), spawn them, load and validate the declarative config (errors name the file
 * and the entity), then listen. A busy port is reported with the address, never as a bare EADDRINUSE.
 */
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { handleAdminRequest } from './admin/api';
import { buildSnapshot, declarativeHash, DeclarativeError, parseDeclarativeText, readDeclarativeText } from './declarative/load';
import { createLogger, type Logger } from './log';
import { type ExtraValidator, PluginCatalog } from './plugin-catalog';
import { addNativePlugins, addServerPlugin, newCatalog } from './declarative/check';
import { PluginServerProcess, queryPluginServer } from './plugin-servers/process';
import { Worker } from './plugin-servers/worker';
import { PluginsIterator } from './plugins-iterator';
import { handleProxyRequest } from './proxy/handler';
import { tempDirFor } from './proxy/request-body';
import { NativeLogPlugins } from './log-plugins';
import { serveMetrics } from './log-plugins/metrics-endpoint';
import { closeUpstreamAgents, type ReadTimerFactory } from './proxy/upstream';
import { Router } from './router';
import type { ListenAddress, Settings } from './settings';
import { type Snapshot, Store } from './store';

export class GatewayStartError extends Error {
  override name = 'GatewayStartError';
}

export interface GatewayOptions {
  settings: Settings;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
  /** Cross-field config validators by plugin name (e.g. ai-proxy-advanced's ajv rules). */
  extraValidators?: ReadonlyMap<string, ExtraValidator>;
  /** Overrides for the Kong-side RPC clients (tests shorten the 60 s read timeout). */
  rpcReadTimeoutMs?: number;
  respawnIntervalMs?: number;
  /** How long close() (SIGTERM) waits for in-flight proxy and Admin API requests; default 10 s, as `kong quit`. */
  drainMs?: number;
  /** The timer behind services' read_timeout (tests fire it themselves instead of waiting). */
  readTimer?: ReadTimerFactory;
}

async function listen(server: http.Server, addr: ListenAddress, what: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new GatewayStartError(
          err.code === 'EADDRINUSE'
            ? `could not listen on ${addr.host}:${addr.port} (${what}): address already in use — is another gateway or Kong running? Set ${what === 'proxy' ? 'KONG_PROXY_LISTEN' : 'KONG_ADMIN_LISTEN'} to another port`
            : `could not listen on ${addr.host}:${addr.port} (${what}): ${err.message}`,
        ),
      );
    };
    server.once('error', onError);
    server.listen(addr.port, addr.host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

export class Gateway {
  readonly store: Store;
  readonly catalog: PluginCatalog;
  readonly nodeId = randomUUID();
  readonly logger: Logger;
  readonly processes: PluginServerProcess[] = [];
  readonly workers: Worker[] = [];
  proxyAddresses: AddressInfo[] = [];
  adminAddresses: AddressInfo[] = [];
  private router: Router;
  private iterator: PluginsIterator;
  private readonly servers: http.Server[] = [];
  private readonly env: NodeJS.ProcessEnv;
  private nextWorker = 0;
  private readonly socketWorker = new WeakMap<Socket, Worker>();
  private readonly counters = { accepted: 0, active: 0, total: 0 };
  /** A router built ahead (in slices) for the snapshot about to be installed. */
  private prebuilt: { snap: Snapshot; router: Router } | undefined;

  /** Installs a whole new configuration (POST /config) with its router built without holding the loop. */
  async replaceConfig(snap: Snapshot): Promise<void> {
    const router = await Router.buildSliced(snap);
    this.prebuilt = { snap, router };
    this.store.replaceAll(snap);
  }
  /** Requests whose response has not finished (proxy and Admin API), for draining on close. */
  private inFlight = 0;

  private track(res: http.ServerResponse): void {
    this.inFlight++;
    // 'close' is emitted once per response; one shared listener instead of a once-wrapper per request.
    res.on('close', this.untrack);
  }
  private readonly untrack = (): void => {
    this.inFlight--;
  };
  readonly nativeLog: NativeLogPlugins;

  private constructor(readonly settings: Settings, private readonly opts: GatewayOptions) {
    this.env = opts.env ?? process.env;
    this.logger = opts.logger ?? createLogger(settings.logLevel);
    // The same catalog `npm run validate` checks declarative files against (declarative/check.ts).
    this.catalog = newCatalog(settings, this.env, opts.extraValidators ?? []);
    this.nativeLog = new NativeLogPlugins(this.logger);
    this.store = new Store(this.catalog);
    this.router = new Router(this.store.snapshot());
    this.iterator = this.buildIterator();
    this.store.onChange(() => {
      const snap = this.store.snapshot();
      this.router = this.prebuilt?.snap === snap ? this.prebuilt.router : new Router(snap);
      this.prebuilt = undefined;
      this.iterator = this.buildIterator();
    });
  }

  private buildIterator(): PluginsIterator {
    return new PluginsIterator(this.store.snapshot(), this.catalog, this.env, (m) => this.logger.warn(m));
  }

  static async start(opts: GatewayOptions): Promise<Gateway> {
    const gw = new Gateway(opts.settings, opts);
    try {
      await gw.boot();
    } catch (err) {
      await gw.close();
      throw err;
    }
    return gw;
  }

  private async boot(): Promise<void> {
    const s = this.settings;
    mkdirSync(s.prefix, { recursive: true });
    for (const def of s.pluginServers) {
      const info = await queryPluginServer(def, this.logger).catch((e: Error) => {
        throw new GatewayStartError(e.message);
      });
      try {
        addServerPlugin(this.catalog, info, def.name, this.logger);
      } catch (e) {
        throw new GatewayStartError((e as Error).message);
      }
      const proc = new PluginServerProcess(def, this.logger, this.opts.respawnIntervalMs, pluginServerEnv(this.env));
      this.processes.push(proc);
      proc.start();
    }
    await Promise.all(this.processes.filter((p) => p.def.startCmd !== undefined).map((p) => p.waitReady()));
    addNativePlugins(this.catalog);

    const source = s.declarativeConfigString !== undefined ? 'KONG_DECLARATIVE_CONFIG_STRING' : s.declarativeConfig;
    if (source !== undefined) {
      try {
        const text = s.declarativeConfigString ?? readDeclarativeText(source);
        this.store.replaceAll(buildSnapshot(parseDeclarativeText(text, source, this.env), this.store, source));
        // POST /config?check_hash=1 with this same text is a 304, as in Kong.
        this.store.configHash = declarativeHash(text);
      } catch (err) {
        if (err instanceof DeclarativeError) {
          throw new GatewayStartError(`error parsing declarative config ${s.declarativeConfigString !== undefined ? 'string' : 'file'} ${source}:\n${err.message}`);
        }
        throw err;
      }
    }

    const host = {
      settings: s,
      logger: this.logger,
      nodeId: this.nodeId,
      resetInstances: (name: string) => {
        for (const w of this.workers) w.resetInstancesFor(name);
      },
    };
    for (let i = 0; i < s.workerProcesses; i++) {
      const rpc = { busyPollUs: s.pluginServerBusyPollUs };
      this.workers.push(new Worker(i, s.pluginServers, host, this.opts.rpcReadTimeoutMs === undefined ? rpc : { ...rpc, readTimeoutMs: this.opts.rpcReadTimeoutMs }));
    }

    const proxyHost = {
      settings: s,
      bodyLimits: { maxSize: s.clientMaxBodySize, bufferSize: s.clientBodyBufferSize, tempDir: tempDirFor(s.prefix) },
      logger: this.logger,
      router: () => this.router,
      iterator: () => this.iterator,
      workerFor: (req: http.IncomingMessage) => this.socketWorker.get(req.socket) ?? (this.workers[0] as Worker),
      ...(this.opts.readTimer ? { readTimer: this.opts.readTimer } : {}),
      nativeLog: this.nativeLog,
    };
    for (const addr of s.proxyListen) {
      const server = http.createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, (req, res) => {
        this.counters.total++;
        this.track(res);
        handleProxyRequest(proxyHost, req, res).catch((err: Error) => {
          this.logger.err(`proxy: ${err.stack ?? err.message}`);
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      server.on('connection', (sock: Socket) => {
        this.counters.accepted++;
        this.counters.active++;
        sock.once('close', () => this.counters.active--);
        // nginx hands each connection to one worker.
        const w = this.workers[this.nextWorker++ % this.workers.length];
        if (w) this.socketWorker.set(sock, w);
      });
      server.on('clientError', (_err, sock) => {
        if (sock.writable) sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      });
      this.servers.push(server);
      this.proxyAddresses.push(await listen(server, addr, 'proxy'));
    }
    const adminHost = {
      settings: s,
      store: this.store,
      catalog: this.catalog,
      nodeId: this.nodeId,
      env: this.env,
      stats: () => ({ ...this.counters }),
      replaceConfig: (snap: Snapshot) => this.replaceConfig(snap),
    };
    for (const addr of s.adminListen) {
      const server = http.createServer((req, res) => {
        this.track(res);
        // The prometheus plugin's endpoint (Kong: kong/plugins/prometheus/api.lua, Admin API GET /metrics).
        if (serveMetrics(req, res, this.catalog, this.nativeLog, this.env)) return;
        handleAdminRequest(adminHost, req, res).catch((err: Error) => {
          this.logger.err(`admin: ${err.stack ?? err.message}`);
          if (!res.headersSent) res.writeHead(500).end();
        });
      });
      this.servers.push(server);
      this.adminAddresses.push(await listen(server, addr, 'admin'));
    }
  }

  /** Replaces the extra validator of a plugin (applies to later writes). */
  setExtraValidator(name: string, fn: ExtraValidator): void {
    this.catalog.extraValidators.set(name, fn);
  }

  /**
   * Stops the gateway: listeners stop accepting at once, requests in flight get up to `drainMs` to finish (idle
   * keep-alive connections are closed as they become idle), then every connection is closed, the workers and
   * plugin servers stopped.
   */
  async close(drainMs = this.opts.drainMs ?? 10_000): Promise<void> {
    const closed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const deadline = Date.now() + drainMs;
    for (;;) {
      for (const s of this.servers) s.closeIdleConnections();
      if ((this.inFlight <= 0 && this.nativeLog.phasesInFlight <= 0) || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if (this.inFlight > 0) this.logger.warn(`closing with ${this.inFlight} requests still in flight after ${drainMs} ms`);
    if (this.nativeLog.phasesInFlight > 0) this.logger.warn(`closing with ${this.nativeLog.phasesInFlight} log phases still running after ${drainMs} ms`);
    for (const s of this.servers) s.closeAllConnections();
    await closed;
    for (const w of this.workers) w.close();
    await Promise.all(this.processes.map((p) => p.stop()));
    // Queued log entries get what is left of the drain deadline, then are dropped with a warning.
    await this.nativeLog.close(Math.max(0, deadline - Date.now()));
    await closeUpstreamAgents();
  }
}

/**
 * What the gateway's `env` (its settings environment, injectable) adds to the plugin servers it starts: the
 * cluster setting of ai-proxy-advanced (AI_PROXY_ADVANCED_CLUSTER_REDIS), so the nodes of one gateway share state.
 * Everything else the plugin servers inherit from this process, as Kong's inherit nginx's environment.
 */
function pluginServerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (k.startsWith('AI_PROXY_ADVANCED_CLUSTER_') && v !== undefined) out[k] = v;
  return out;
}
