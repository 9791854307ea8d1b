/**
 * A minimal Kong in front of the real plugin server, for engine integration tests until the local gateway is
 * merged: an HTTP listener that, per request, runs the plugin's `access` phase over the real unix socket with
 * Kong's RPC client (kong/rpc: HandleEvent/Step loop, must_fix, Lua-style msgpack) and answers what
 * `kong.response.exit` asked for. It implements only the PDK methods the engine calls, each like Kong's
 * (kong/pdk/request.lua, response.lua, log.lua), and records `set_serialize_value` per request.
 */
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { EXIT, PluginServerClient, runEvent } from '../../kong/rpc';
import { REPO_ROOT, startServer, type RunningServer } from './pluginserver-process';

export interface FrontRequestLog {
  serialized: Map<string, unknown>;
  pdkCalls: string[];
}

export class EngineKongFront {
  readonly logs: FrontRequestLog[] = [];
  private instanceId = -1;

  private constructor(
    private readonly server: http.Server,
    readonly pluginServer: RunningServer,
    readonly client: PluginServerClient,
  ) {}

  /** Starts our plugin server with dist/plugins and one instance of ai-proxy-advanced with `config`. */
  static async start(config: Record<string, unknown>): Promise<EngineKongFront> {
    const prefix = mkdtempSync(path.join(os.tmpdir(), 'aipa-front-'));
    const ps = await startServer('ours', { prefix, sockName: 'js.sock', pluginsDir: path.join(REPO_ROOT, 'dist', 'plugins') });
    const client = new PluginServerClient({ socketPath: ps.socketPath });
    const server = http.createServer();
    const front = new EngineKongFront(server, ps, client);
    await front.configure(config);
    server.on('request', (req, res) => front.handle(req, res));
    server.keepAliveTimeout = 60_000;
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return front;
  }

  /** StartInstance with a new config, as Kong does on a config change (the old instance is closed). */
  async configure(config: Record<string, unknown>): Promise<void> {
    const r = (await this.client.call('plugin.StartInstance', { Name: 'ai-proxy-advanced', Config: JSON.stringify(config) })) as { Id: number };
    const old = this.instanceId;
    this.instanceId = r.Id;
    if (old >= 0) await this.client.call('plugin.CloseInstance', old).catch(() => undefined);
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const headers: Record<string, string | string[]> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = (req.rawHeaders[i] as string).toLowerCase();
        const v = req.rawHeaders[i + 1] as string;
        const prev = headers[k];
        headers[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
      }
      const log: FrontRequestLog = { serialized: new Map(), pdkCalls: [] };
      this.logs.push(log);
      let exit: { status: number; body: unknown; headers: Record<string, unknown> } | undefined;
      const pdk = (method: string, args: unknown[]): unknown => {
        log.pdkCalls.push(method);
        switch (method) {
          case 'kong.request.get_raw_body':
            return body;
          case 'kong.request.get_headers':
            return headers;
          case 'kong.request.get_path_with_query':
            return req.url ?? '/';
          case 'kong.request.get_method':
            return req.method;
          case 'kong.request.get_uri_captures':
            return { unnamed: [], named: {} };
          case 'kong.log.set_serialize_value':
            log.serialized.set(String(args[0]), args[1]);
            return undefined;
          case 'kong.log.err':
          case 'kong.log.warn':
            return undefined;
          case 'kong.response.exit':
            exit = { status: args[0] as number, body: args[1], headers: (args[2] as Record<string, unknown> | undefined) ?? {} };
            return EXIT;
          default:
            // Kong: `could not find pdk method` → nil.
            return undefined;
        }
      };
      runEvent(this.client, this.instanceId, 'access', pdk).then(
        () => {
          if (!exit) {
            res.writeHead(502).end('plugin did not exit');
            return;
          }
          const h: Record<string, string> = {};
          for (const [k, v] of Object.entries(exit.headers)) h[k] = String(v);
          const b = exit.body;
          const text = b instanceof Uint8Array ? Buffer.from(b) : typeof b === 'string' ? b : JSON.stringify(b ?? '');
          res.writeHead(exit.status, h);
          res.end(text);
        },
        (err: unknown) => {
          // Kong: a Lua error in access gives 500 "An unexpected error occurred".
          res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ message: 'An unexpected error occurred', detail: String(err) }));
        },
      );
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
    this.client.close?.();
    await this.pluginServer.stop();
  }
}
