/**
 * Serves one plugin instance over HTTP by running its access() per request with the test PDK object
 * (spec/helpers/engine-pdk), so HTTP clients such as the official `openai` SDK can talk to the engine before
 * and besides the local gateway. Not a gateway: no routing, no other plugins, no RPC.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { FakePdk } from './engine-pdk';

export class EngineHttpHarness {
  readonly pdks: FakePdk[] = [];

  private constructor(private readonly server: http.Server) {}

  static async start(plugin: AiProxyAdvanced): Promise<EngineHttpHarness> {
    const server = http.createServer();
    const h = new EngineHttpHarness(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string[]> = {};
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const k = (req.rawHeaders[i] as string).toLowerCase();
          (headers[k] ??= []).push(req.rawHeaders[i + 1] as string);
        }
        const kong = new FakePdk({ body: Buffer.concat(chunks), headers, path: req.url ?? '/', method: req.method ?? 'GET' });
        h.pdks.push(kong);
        plugin.access(kong).then(
          () => {
            const e = kong.exited;
            if (!e) {
              res.writeHead(500).end('plugin did not exit');
              return;
            }
            res.writeHead(e.status, e.headers);
            res.end(e.bytes);
          },
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return h;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
