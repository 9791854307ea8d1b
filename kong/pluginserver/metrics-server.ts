/**
 * The plugin server's Prometheus endpoint: `GET /metrics` in the text exposition format, serving prom-client's
 * global registry, where plugins register their metrics (ai-proxy-advanced: Kong's kong_ai_llm_* metrics for
 * buffered and streamed requests, failovers and circuit states; observability/metrics.ts).
 * Off unless AI_PROXY_ADVANCED_METRICS_PORT is set; AI_PROXY_ADVANCED_METRICS_HOST defaults to 127.0.0.1, so
 * nothing is exposed beyond the host unless the operator asks for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { register, type Registry } from 'prom-client';

export class MetricsSettingError extends Error {
  override name = 'MetricsSettingError';
}

export function metricsAddress(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } | undefined {
  const rawPort = env.AI_PROXY_ADVANCED_METRICS_PORT?.trim();
  if (!rawPort) return undefined;
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) throw new MetricsSettingError(`AI_PROXY_ADVANCED_METRICS_PORT must be a port number, got '${rawPort}'`);
  return { host: env.AI_PROXY_ADVANCED_METRICS_HOST?.trim() || '127.0.0.1', port };
}

export interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startMetricsServer(address: { host: string; port: number }, registry: Registry = register): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found"}');
      return;
    }
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text) });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics collection failed: ${err.message}\n`);
      },
    );
  });
  server.requestTimeout = 10_000;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      server.unref();
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
