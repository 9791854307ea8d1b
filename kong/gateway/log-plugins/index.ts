/**
 * Kong's bundled log plugins the local gateway runs itself (Kong runs them as Lua; the gateway cannot): file-log,
 * http-log and prometheus, with Kong's config schemas (schemas.ts), names, priorities and log-entry shape (the
 * kong.log.serialize() table, pdk/serialize.ts), so `npm start` users see what Kong users see: every request's
 * entry, with the `ai.proxy` analytics of ai-proxy-advanced for buffered and streamed requests, and Kong's AI
 * metrics on the Admin API's GET /metrics.
 *
 * One instance per gateway (tests run many gateways in one process): it owns the open log files, the http-log
 * queues and the Prometheus registry. A log plugin never slows the proxy: it runs after the response, file
 * writes go through a stream, and http-log only pushes onto a bounded queue (observability/queue.ts).
 */
import { createHash } from 'node:crypto';
import { appendFile } from 'node:fs';
import { Counter, Histogram, Registry } from 'prom-client';
import { KongAiMetrics } from '../../../plugins/ai-proxy-advanced/observability/metrics';
import { KONG_QUEUE_DEFAULTS, LogQueue, realQueueDeps, type QueueConf } from '../../../plugins/ai-proxy-advanced/observability/queue';
import { AppendFile, httpPoster, shownEndpoint } from '../../../plugins/ai-proxy-advanced/observability/sink';
import type { AiProxyBlock } from '../../../plugins/ai-proxy-advanced/engine/analytics';
import type { Logger } from '../log';
import type { ExtraValidator, PluginInfo } from '../plugin-catalog';
import type { ErrorTree } from '../schema/kong-schema';
import { FILE_LOG_FIELDS, HTTP_LOG_FIELDS, pluginSchema, PROMETHEUS_FIELDS } from './schemas';

/** The `server` of a PluginInfo the gateway runs itself. */
export const NATIVE_SERVER = '(local gateway)';

/** Kong's PRIORITY of each (kong/plugins/<name>/handler.lua) and the version the gateway reports (Kong's). */
const NATIVE: ReadonlyArray<{ name: string; priority: number; fields: typeof FILE_LOG_FIELDS }> = [
  { name: 'file-log', priority: 9, fields: FILE_LOG_FIELDS },
  { name: 'http-log', priority: 12, fields: HTTP_LOG_FIELDS },
  { name: 'prometheus', priority: 13, fields: PROMETHEUS_FIELDS },
];

/** exporter.lua buckets. */
const KONG_LATENCY_BUCKETS = [1, 2, 5, 7, 10, 15, 20, 30, 50, 75, 100, 200, 500, 750, 1000, 3000, 6000];
const UPSTREAM_LATENCY_BUCKETS = [25, 50, 80, 100, 250, 400, 700, 1000, 2000, 5000, 10000, 30000, 60000];

type Conf = Record<string, unknown>;
type Entry = Record<string, unknown>;

export function nativeLogPluginInfos(version: string): PluginInfo[] {
  return NATIVE.map((p) => ({
    name: p.name,
    version,
    priority: p.priority,
    phases: ['log'],
    configFields: p.fields,
    configChecks: undefined,
    schema: pluginSchema(p.name, p.fields),
    server: NATIVE_SERVER,
  }));
}

function refuseLua(config: Conf): Record<string, ErrorTree> | undefined {
  const c = config.custom_fields_by_lua;
  if (c !== null && c !== undefined && typeof c === 'object' && Object.keys(c).length > 0) {
    return { custom_fields_by_lua: 'the local gateway cannot run Lua code; use Kong for custom_fields_by_lua' };
  }
  return undefined;
}

/** Validators for what Kong checks in Lua (typedefs.url, custom_validator). */
export const nativeLogValidators: ReadonlyMap<string, ExtraValidator> = new Map<string, ExtraValidator>([
  ['file-log', refuseLua],
  [
    'http-log',
    (config) => {
      const lua = refuseLua(config);
      if (lua) return lua;
      let u: URL;
      try {
        u = new URL(String(config.http_endpoint));
      } catch {
        return { http_endpoint: 'missing host in url' };
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:') return { http_endpoint: `unsupported scheme '${u.protocol.replace(/:$/, '')}'` };
      const headers = (config.headers ?? {}) as Record<string, unknown>;
      if ((u.username !== '' || u.password !== '') && Object.keys(headers ?? {}).some((h) => h.toLowerCase() === 'authorization')) {
        return { '@entity': ["specifying both an 'Authorization' header and user info in 'http_endpoint' is not allowed"] } as unknown as Record<string, ErrorTree>;
      }
      return undefined;
    },
  ],
]);

export function isNative(info: PluginInfo): boolean {
  return info.server === NATIVE_SERVER;
}

export class NativeLogPlugins {
  readonly registry = new Registry();
  private readonly ai: KongAiMetrics;
  private readonly httpStatus: Counter<string>;
  private readonly kongLatency: Histogram<string>;
  private readonly upstreamLatency: Histogram<string>;
  private readonly requestLatency: Histogram<string>;
  private readonly bandwidth: Counter<string>;
  private readonly files = new Map<string, AppendFile>();
  private readonly queues = new Map<string, LogQueue<string>>();

  constructor(private readonly logger: Logger) {
    const registers = [this.registry];
    // Kong's AI metrics only: the balancer families come from the plugin server (metrics-endpoint.ts).
    this.ai = new KongAiMetrics(this.registry);
    this.httpStatus = new Counter({
      name: 'kong_http_requests_total',
      help: 'HTTP status codes per consumer/service/route in Kong',
      labelNames: ['service', 'route', 'code', 'source', 'workspace', 'consumer'],
      registers,
    });
    const sr = ['service', 'route', 'workspace'];
    this.kongLatency = new Histogram({ name: 'kong_kong_latency_ms', help: 'Latency added by Kong and enabled plugins for each service/route in Kong', labelNames: sr, buckets: KONG_LATENCY_BUCKETS, registers });
    this.upstreamLatency = new Histogram({ name: 'kong_upstream_latency_ms', help: 'Latency added by upstream response for each service/route in Kong', labelNames: sr, buckets: UPSTREAM_LATENCY_BUCKETS, registers });
    this.requestLatency = new Histogram({ name: 'kong_request_latency_ms', help: 'Total latency incurred during requests for each service/route in Kong', labelNames: sr, buckets: UPSTREAM_LATENCY_BUCKETS, registers });
    this.bandwidth = new Counter({ name: 'kong_bandwidth_bytes', help: 'Total bandwidth (ingress/egress) throughput in bytes', labelNames: ['service', 'route', 'direction', 'workspace', 'consumer'], registers });
  }

  /** Runs one native plugin's log handler on the serialized entry. Never throws. */
  log(name: string, conf: Conf, entry: Entry): void {
    try {
      if (name === 'file-log') this.fileLog(conf, entry);
      else if (name === 'http-log') this.httpLog(conf, entry);
      else if (name === 'prometheus') this.prometheus(conf, entry);
    } catch (err) {
      this.logger.err(`[${name}] log: ${(err as Error).message}`);
    }
  }

  /** kong/plugins/file-log/handler.lua: one JSON line per request, appended (O_APPEND); `reopen` opens it each time. */
  private fileLog(conf: Conf, entry: Entry): void {
    const path = String(conf.path);
    const line = `${JSON.stringify(entry)}\n`;
    if (conf.reopen === true) {
      appendFile(path, line, (err) => {
        if (err) this.logger.err(`[file-log] failed to open the file: ${err.message}`);
      });
      return;
    }
    let f = this.files.get(path);
    if (!f) {
      f = new AppendFile(path, (err) => this.logger.err(`[file-log] failed to open the file: ${err.message}`));
      this.files.set(path, f);
    }
    f.write(line);
  }

  /** kong/plugins/http-log/handler.lua: entries through Kong's queue, one object per POST or an array when batching. */
  private httpLog(conf: Conf, entry: Entry): void {
    const q = (conf.queue ?? {}) as Partial<QueueConf>;
    const queueConf: QueueConf = { ...KONG_QUEUE_DEFAULTS };
    for (const k of Object.keys(KONG_QUEUE_DEFAULTS) as Array<keyof QueueConf>) if (typeof q[k] === 'number') queueConf[k] = q[k] as number;
    // Kong maps the deprecated queue_size / flush_timeout onto the queue when set.
    if (typeof conf.queue_size === 'number' && queueConf.max_batch_size === 1) queueConf.max_batch_size = conf.queue_size;
    if (typeof conf.flush_timeout === 'number' && queueConf.max_coalescing_delay === 1) queueConf.max_coalescing_delay = conf.flush_timeout;
    const key = createHash('sha256')
      .update(JSON.stringify([conf.http_endpoint, conf.method, conf.content_type, conf.timeout, conf.headers, queueConf]))
      .digest('hex');
    let queue = this.queues.get(key);
    if (!queue) {
      // The config is filled (schema defaults): no fallbacks here.
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries((conf.headers ?? {}) as Record<string, unknown>)) if (typeof v === 'string') headers[k] = v;
      const endpoint = String(conf.http_endpoint);
      queue = new LogQueue<string>(
        // The queue's name never carries the endpoint's credentials or query.
        `http-log ${shownEndpoint(endpoint)}`,
        queueConf,
        httpPoster(endpoint, {
          timeoutMs: Number(conf.timeout),
          batched: queueConf.max_batch_size > 1,
          method: String(conf.method) as 'POST' | 'PUT' | 'PATCH',
          contentType: String(conf.content_type),
          headers,
        }),
        realQueueDeps((m) => this.logger.warn(`[http-log] ${m}`)),
      );
      this.queues.set(key, queue);
    }
    queue.enqueue(JSON.stringify(entry));
  }

  /** kong/plugins/prometheus/handler.lua + exporter.lua log(): only what the config switches on. */
  private prometheus(conf: Conf, entry: Entry): void {
    const route = entry.route as { name?: string; id?: string } | undefined;
    // exporter.lua: no route, no per-service metrics.
    if (!route) return;
    const service = entry.service as { name?: string; host?: string } | undefined;
    const serviceName = service?.name ?? service?.host ?? '';
    const routeName = route.name ?? route.id ?? '';
    const workspace = String(entry.workspace_name ?? '');
    const consumerRec = entry.consumer as { username?: string } | undefined;
    const consumer = conf.per_consumer === true ? (consumerRec?.username ?? '') : '';
    const response = entry.response as { status?: number; size?: number } | undefined;
    const requestRec = entry.request as { size?: number } | undefined;
    if (conf.bandwidth_metrics === true) {
      const ingress = Number(requestRec?.size ?? 0);
      const egress = Number(response?.size ?? 0);
      if (ingress > 0) this.bandwidth.inc({ service: serviceName, route: routeName, direction: 'ingress', workspace, consumer }, ingress);
      if (egress > 0) this.bandwidth.inc({ service: serviceName, route: routeName, direction: 'egress', workspace, consumer }, egress);
    }
    if (conf.status_code_metrics === true && response?.status !== undefined) {
      const source = entry.source === 'service' ? 'service' : 'kong';
      this.httpStatus.inc({ service: serviceName, route: routeName, code: String(response.status), source, workspace, consumer });
    }
    if (conf.latency_metrics === true) {
      const l = entry.latencies as { request?: number; proxy?: number; kong?: number } | undefined;
      const labels = { service: serviceName, route: routeName, workspace };
      if (l?.request !== undefined && l.request >= 0) this.requestLatency.observe(labels, l.request);
      if (l?.proxy !== undefined && l.proxy >= 0) this.upstreamLatency.observe(labels, l.proxy);
      if (l?.kong !== undefined && l.kong >= 0) this.kongLatency.observe(labels, l.kong);
    }
    if (conf.ai_metrics === true) {
      // handler.lua: serialized.ai_metrics = message.ai; exporter.lua ingests every use case under it.
      const ai = entry.ai as Record<string, unknown> | undefined;
      if (ai && typeof ai === 'object') {
        for (const useCase of Object.values(ai)) {
          const block = useCase as Partial<AiProxyBlock> | undefined;
          if (block?.meta && block.usage) this.ai.observe(block as AiProxyBlock, workspace);
        }
      }
    }
  }

  /** The text for GET /metrics. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  /** Log phases started and not finished (gateway close() drains them with the requests). */
  phasesInFlight = 0;

  /** No log phase running and every file-log line written (tests wait for this before counting entries). */
  quiet(): boolean {
    return this.phasesInFlight === 0 && [...this.files.values()].every((f) => f.pending === 0);
  }

  /**
   * Sends queued http-log entries (tests, shutdown) and closes the log files. `waitMs` bounds the wait for the
   * queues: after it, what is unsent is dropped with a warning (a dead endpoint must not hold shutdown).
   */
  async close(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close(waitMs)));
    await Promise.all([...this.files.values()].map((f) => f.close()));
    this.files.clear();
  }
}
