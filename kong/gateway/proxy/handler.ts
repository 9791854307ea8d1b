/**
 * One proxied request, in Kong's phase order (kong/init.lua, kong/runloop/handler.lua):
 *   rewrite (global plugins) → router → access (collected plugins, by priority; the first exit or error stops
 *   the rest and skips proxying) → proxy to the service (buffered when a plugin has a `response` handler, then
 *   `response` handlers run and may replace the response with exit) → response to the client with Kong's
 *   headers → log handlers afterwards, from a timer, with the saved request/response data.
 * Nothing a request carries can crash the gateway: every failure ends as a Kong error response.
 */
import { randomFillSync } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log';
import { kongError } from '../pdk/response';
import { LuaError } from '../pdk/phase-check';
import { buildSerializeData } from '../pdk/serialize';
import type { NativeLogPlugins } from '../log-plugins';
import { runLogPhase } from '../log-plugins/run';
import { cjsonEncode } from '../pdk/values';
import type { Worker } from '../plugin-servers/worker';
import type { ConfiguredPlugin, PluginsIterator } from '../plugins-iterator';
import { normalizePath, type Router, upstreamUri } from '../router';
import { headerEnabled, type Settings } from '../settings';
import { HeaderMap, type Phase, type RequestContext } from './context';
import { type BodyLimits, BodyTooLarge, readRequestBody, removeSpooled, type RequestBody } from './request-body';
import { callUpstream, UpstreamFailure, type ReadTimerFactory } from './upstream';

export const KONG_VERSION = '3.9.1';
export const SERVER_HEADER = `kong/${KONG_VERSION}`;

const NGINX_HIDDEN = ['x-accel-expires', 'x-accel-redirect', 'x-accel-limit-rate', 'x-accel-buffering', 'x-accel-charset'];
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);

export interface ProxyHost {
  settings: Settings;
  /** client_max_body_size, client_body_buffer_size and the spool directory (request-body.ts). */
  bodyLimits: BodyLimits;
  logger: Logger;
  router(): Router;
  iterator(): PluginsIterator;
  workerFor(req: IncomingMessage): Worker;
  /** The service read_timeout's timer (tests inject one; default native). */
  readTimer?: ReadTimerFactory;
  /** file-log, http-log, prometheus run by the gateway itself (log-plugins/). */
  nativeLog?: NativeLogPlugins;
}

/** Random bytes for request ids, drawn 256 ids at a time (one getrandom call instead of one per request). */
const ID_POOL = Buffer.alloc(16 * 256);
let idOffset = ID_POOL.length;

/** Kong's request id: 32 hex digits, 128 random bits. */
function requestId(): string {
  if (idOffset === ID_POOL.length) {
    randomFillSync(ID_POOL);
    idOffset = 0;
  }
  idOffset += 16;
  return ID_POOL.toString('hex', idOffset - 16, idOffset);
}

const NO_BODY = Buffer.alloc(0);

export function createContext(req: IncomingMessage, bodyBufferSize: number): RequestContext {
  const url = req.url ?? '/';
  // An absolute-form target (`GET http://host/path`) is routed on its path.
  const noAbs = url.charCodeAt(0) === 47 /* / */ ? url : url.replace(/^[a-z]+:\/\/[^/]*/i, '');
  const q = noAbs.indexOf('?');
  const rawPath = (q < 0 ? noAbs : noAbs.slice(0, q)) || '/';
  const rawQuery = q < 0 ? '' : noAbs.slice(q + 1);
  const headers = HeaderMap.fromRaw(req.rawHeaders);
  const remote = req.socket.remoteAddress ?? '';
  return {
    id: requestId(),
    phase: 'rewrite',
    startTime: Date.now(),
    req,
    method: req.method ?? 'GET',
    scheme: 'http',
    host: req.headers.host ?? '',
    port: req.socket.localPort ?? 0,
    rawPath,
    path: normalizePath(rawPath),
    rawQuery,
    requestHeaders: headers,
    body: NO_BODY,
    bodyFile: undefined,
    bodySize: 0,
    bodyBufferSize,
    clientIp: remote.startsWith('::ffff:') ? remote.slice(7) : remote,
    clientPort: req.socket.remotePort ?? 0,
    match: undefined,
    route: undefined,
    service: undefined,
    currentPluginId: undefined,
    upstream: { scheme: 'http', host: '', port: 80, path: '/', rawQuery, method: req.method ?? 'GET', headers: headers.clone(), body: undefined, hostHeader: undefined },
    response: { status: undefined, headers: new HeaderMap() },
    ctxShared: {},
    ngxCtx: {},
    serializeValues: {},
    delayed: undefined,
    source: undefined,
    bufferedProxying: false,
    serviceResponse: undefined,
    sent: undefined,
    saved: undefined,
    latency: { proxy: undefined, upstream: undefined, response: undefined },
    upstreamUri: '',
    tries: [],
  };
}

const elapsed = (ctx: RequestContext): number => Math.max(0, Date.now() - ctx.startTime);

/** Runs one phase over `plugins`; true when a plugin ended the request (exit, error, or a 500). */
function runPhase(host: ProxyHost, worker: Worker, ctx: RequestContext, phase: Phase, plugins: readonly ConfiguredPlugin[]): boolean | Promise<boolean> {
  ctx.phase = phase;
  // Most requests have no plugin for a phase (rewrite runs global plugins only): no promise for those.
  return plugins.some((p) => p.info.phases.includes(phase)) ? runPlugins(host, worker, ctx, phase, plugins) : false;
}

async function runPlugins(host: ProxyHost, worker: Worker, ctx: RequestContext, phase: Phase, plugins: readonly ConfiguredPlugin[]): Promise<boolean> {
  ctx.phase = phase;
  for (const p of plugins) {
    if (!p.info.phases.includes(phase)) continue;
    try {
      const r = await worker.handleEvent(p, phase, ctx);
      if (r === 'exit') return true;
    } catch (err) {
      host.logger.err(`[${p.info.name}] ${phase}: ${(err as Error).message}, request_id: ${ctx.id}`);
      if (phase === 'access') {
        // execute_collecting_plugins_iterator: delayed_response 500 {"message":"An unexpected error occurred"}
        const h = new HeaderMap();
        h.set('Content-Type', ['application/json; charset=utf-8']);
        ctx.delayed = { status: 500, body: Buffer.from(cjsonEncode({ message: 'An unexpected error occurred' })), headers: h };
      } else kongError(ctx, 500);
      ctx.source = 'error';
      if (!(err instanceof LuaError)) host.logger.err(`unexpected gateway error: ${(err as Error).stack ?? String(err)}`);
      return true;
    }
  }
  return false;
}

/** Which of Kong's headers the `headers` setting adds, worked out once per settings object. */
interface KongHeaders {
  responseLatency: boolean;
  upstreamLatency: boolean;
  proxyLatency: boolean;
  server: boolean;
  via: boolean;
  requestId: boolean;
}
const kongHeadersCache = new WeakMap<Settings, KongHeaders>();
function kongHeaders(s: Settings): KongHeaders {
  let k = kongHeadersCache.get(s);
  if (!k) {
    k = {
      responseLatency: headerEnabled(s, 'X-Kong-Response-Latency'),
      upstreamLatency: headerEnabled(s, 'X-Kong-Upstream-Latency'),
      proxyLatency: headerEnabled(s, 'X-Kong-Proxy-Latency'),
      server: headerEnabled(s, 'server'),
      via: headerEnabled(s, 'via'),
      requestId: headerEnabled(s, 'X-Kong-Request-Id'),
    };
    kongHeadersCache.set(s, k);
  }
  return k;
}

function sendDelayed(host: ProxyHost, ctx: RequestContext, res: ServerResponse): void {
  const d = ctx.delayed;
  if (!d) return;
  const kh = kongHeaders(host.settings);
  // The delayed response is sent once and then only read for its status: its headers become the sent ones.
  const h = d.headers;
  h.delete('transfer-encoding');
  h.set('Content-Length', [String(d.body.length)]);
  ctx.latency.response = elapsed(ctx);
  if (kh.responseLatency) h.set('X-Kong-Response-Latency', [String(ctx.latency.response)]);
  if (kh.server && !(h.first('via') === SERVER_HEADER)) h.set('Server', [SERVER_HEADER]);
  if (kh.requestId) h.set('X-Kong-Request-Id', [ctx.id]);
  ctx.sent = { status: d.status, headers: h };
  res.writeHead(d.status, h.toNode());
  res.end(ctx.method === 'HEAD' ? undefined : d.body);
}

function proxiedHeaders(host: ProxyHost, ctx: RequestContext, h: HeaderMap, upstreamVia: string | undefined): HeaderMap {
  const kh = kongHeaders(host.settings);
  if (kh.upstreamLatency) h.set('X-Kong-Upstream-Latency', [String(ctx.latency.upstream ?? 0)]);
  if (kh.proxyLatency) h.set('X-Kong-Proxy-Latency', [String(ctx.latency.proxy ?? 0)]);
  if (kh.via) h.set('Via', [upstreamVia ? `${upstreamVia}, 1.1 ${SERVER_HEADER}` : `1.1 ${SERVER_HEADER}`]);
  if (kh.server && !h.has('server')) h.set('Server', [SERVER_HEADER]);
  if (kh.requestId) h.set('X-Kong-Request-Id', [ctx.id]);
  return h;
}

function upstreamRequestHeaders(ctx: RequestContext): Record<string, string | string[]> {
  const h = ctx.upstream.headers.clone();
  for (const name of HOP_BY_HOP) h.delete(name);
  h.delete('host');
  h.delete('content-length');
  const xff = ctx.requestHeaders.get('x-forwarded-for');
  h.set('X-Forwarded-For', [xff ? `${xff.join(', ')}, ${ctx.clientIp}` : ctx.clientIp]);
  h.set('X-Forwarded-Proto', [ctx.scheme]);
  h.set('X-Forwarded-Host', [ctx.host.replace(/:\d+$/, '')]);
  h.set('X-Forwarded-Port', [String(ctx.port)]);
  h.set('X-Forwarded-Path', [ctx.path]);
  if (ctx.match?.prefix !== undefined && ctx.route?.strip_path === true) h.set('X-Forwarded-Prefix', [ctx.match.prefix]);
  else h.delete('x-forwarded-prefix');
  h.set('X-Real-IP', [ctx.clientIp]);
  const via = ctx.requestHeaders.first('via');
  h.set('Via', [via ? `${via}, 1.1 ${SERVER_HEADER}` : `1.1 ${SERVER_HEADER}`]);
  h.set('X-Kong-Request-Id', [ctx.id]);
  const defaultPort = (ctx.upstream.scheme === 'https' && ctx.upstream.port === 443) || (ctx.upstream.scheme === 'http' && ctx.upstream.port === 80);
  h.set('Host', [ctx.upstream.hostHeader ?? (defaultPort ? ctx.upstream.host : `${ctx.upstream.host}:${ctx.upstream.port}`)]);
  return h.toNode();
}

async function proxy(host: ProxyHost, worker: Worker, ctx: RequestContext, plugins: readonly ConfiguredPlugin[], res: ServerResponse): Promise<void> {
  const svc: Record<string, unknown> = ctx.service ?? {};
  // The client's own query goes on as it came (Kong appends $args as is, kong/runloop/handler.lua); a plugin's
  // set_raw_query was escaped when set (pdk/service.ts).
  const query = ctx.upstream.rawQuery;
  ctx.upstreamUri = ctx.upstream.path + (query === '' ? '' : `?${query}`);
  ctx.latency.proxy = elapsed(ctx);
  let up;
  try {
    up = await callUpstream({
      scheme: ctx.upstream.scheme,
      host: ctx.upstream.host,
      port: ctx.upstream.port,
      path: ctx.upstreamUri,
      method: ctx.upstream.method,
      headers: upstreamRequestHeaders(ctx),
      body: ctx.upstream.body ?? (ctx.bodyFile === undefined ? ctx.body : { size: ctx.bodySize, open: () => createReadStream(ctx.bodyFile as string) }),
      connectTimeout: Number(svc.connect_timeout ?? 60000),
      readTimeout: Number(svc.read_timeout ?? 60000),
      writeTimeout: Number(svc.write_timeout ?? 60000),
      retries: Number(svc.retries ?? 5),
      tlsVerify: svc.tls_verify === true,
      ...(host.readTimer ? { readTimer: host.readTimer } : {}),
    });
  } catch (err) {
    if (!(err instanceof UpstreamFailure)) throw err;
    ctx.tries = err.tries;
    host.logger.err(`${err.message}, request_id: ${ctx.id}`);
    ctx.source = 'error';
    kongError(ctx, err.status);
    ctx.source = 'error';
    sendDelayed(host, ctx, res);
    return;
  }
  ctx.tries = up.tries;
  ctx.source = 'service';
  const upHeaders = HeaderMap.from(up.headers);
  const upstreamVia = upHeaders.first('via');
  upHeaders.delete('via');
  for (const name of HOP_BY_HOP) upHeaders.delete(name);
  // nginx's default proxy_hide_header list: the X-Accel-* controls are for the proxy, not the client.
  for (const name of NGINX_HIDDEN) upHeaders.delete(name);

  if (ctx.bufferedProxying) {
    const chunks: Buffer[] = [];
    for await (const c of up.body) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    ctx.latency.upstream = Date.now() - up.sentAt;
    ctx.serviceResponse = { status: up.status, headers: upHeaders.clone(), body };
    // Kong.response(): set_status + set_headers from the service, then the response handlers.
    ctx.response.status = up.status;
    for (const [k, v] of upHeaders.entries()) ctx.response.headers.set(k, v);
    if (await runPhase(host, worker, ctx, 'response', plugins)) {
      if (ctx.delayed) ctx.delayed.headers.delete('content-length');
      sendDelayed(host, ctx, res);
      return;
    }
    const h = proxiedHeaders(host, ctx, ctx.response.headers.clone(), upstreamVia);
    h.set('Content-Length', [String(body.length)]);
    const status = ctx.response.status ?? up.status;
    ctx.sent = { status, headers: h };
    res.writeHead(status, h.toNode());
    res.end(ctx.method === 'HEAD' ? undefined : body);
    return;
  }

  ctx.latency.upstream = up.headersAt - up.sentAt;
  const h = upHeaders;
  for (const [k, v] of ctx.response.headers.entries()) h.set(k, v);
  proxiedHeaders(host, ctx, h, upstreamVia);
  const status = ctx.response.status ?? up.status;
  ctx.sent = { status, headers: h };
  res.writeHead(status, h.toNode());
  // Plain pipe rather than stream.pipeline: no AbortSignal per request on the hot path.
  await new Promise<void>((resolve) => {
    const fail = (err: Error): void => {
      host.logger.warn(`response to the client interrupted: ${err.message}, request_id: ${ctx.id}`);
      up.body.destroy();
      res.destroy();
      resolve();
    };
    up.body.once('error', fail);
    res.once('close', () => {
      if (!res.writableFinished) up.body.destroy();
      resolve();
    });
    up.body.pipe(res);
  });
}

/** The whole request, then the log phase once the client has its response. */
export async function handleProxyRequest(host: ProxyHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const ctx = createContext(req, host.settings.clientBodyBufferSize);
  const worker = host.workerFor(req);
  const iterator = host.iterator();
  let plugins: readonly ConfiguredPlugin[] = iterator.globals;
  try {
    let body: RequestBody;
    try {
      body = await readRequestBody(req, host.bodyLimits);
    } catch (err) {
      if (!(err instanceof BodyTooLarge)) throw err;
      // nginx answers 413 without running Kong's phases and closes the connection (the rest is not read).
      host.logger.err(`${err.message}: ${req.headers['content-length'] ?? 'chunked'} bytes, request_id: ${ctx.id}`);
      res.shouldKeepAlive = false;
      kongError(ctx, 413);
      sendDelayed(host, ctx, res);
      return;
    }
    ctx.body = body.memory;
    ctx.bodyFile = body.file;
    ctx.bodySize = body.size;
    if (body.file !== undefined) res.once('close', () => removeSpooled(body));
    const ended = await runPhase(host, worker, ctx, 'rewrite', iterator.globals);
    if (!ended) {
      const match = host.router().match({ method: ctx.method, host: ctx.host, path: ctx.path, headers: req.headers });
      if (!match) {
        kongError(ctx, 404, 'no Route matched with those values');
      } else {
        ctx.match = match;
        ctx.route = match.route;
        ctx.service = match.service;
        plugins = iterator.forRequest(match.route.id, match.service?.id);
        const protocols = (match.route.protocols ?? []) as string[];
        if (!protocols.includes(ctx.scheme)) {
          const h = new HeaderMap();
          h.set('Connection', ['Upgrade']);
          h.set('Upgrade', ['TLS/1.2, HTTP/1.1']);
          kongError(ctx, Number(match.route.https_redirect_status_code ?? 426), 'Please use HTTPS protocol', h);
        } else {
          const svc = match.service;
          if (svc) {
            ctx.upstream.scheme = String(svc.protocol);
            ctx.upstream.host = String(svc.host);
            ctx.upstream.port = Number(svc.port);
            ctx.upstream.path = upstreamUri({
              stripPath: match.route.strip_path === true,
              prefix: match.prefix,
              reqUri: ctx.path,
              servicePath: svc.path as string | null,
            });
          }
          if (match.route.preserve_host === true) ctx.upstream.hostHeader = ctx.host;
          ctx.bufferedProxying = plugins.some((p) => p.info.phases.includes('response'));
          const exited = await runPhase(host, worker, ctx, 'access', plugins);
          if (!exited && !svc) kongError(ctx, 503, 'no Service found with those values');
        }
      }
    }
    if (ctx.delayed) sendDelayed(host, ctx, res);
    else await proxy(host, worker, ctx, plugins, res);
  } catch (err) {
    host.logger.err(`unexpected error while proxying: ${(err as Error).stack ?? String(err)}, request_id: ${ctx.id}`);
    if (!res.headersSent) {
      ctx.delayed = undefined;
      kongError(ctx, 500);
      sendDelayed(host, ctx, res);
    } else res.destroy();
  }
  // Kong's log phase: a timer started once the response has been handed to the client, with saved data. Only
  // the log phase reads the saved data, so nothing is saved for a request without log plugins.
  const logPlugins = plugins.filter((p) => p.info.phases.includes('log'));
  if (logPlugins.length === 0) return;
  const responseSize = Number(ctx.sent?.headers.first('content-length') ?? 0);
  ctx.saved = {
    serializeData: {},
    requestHeaders: ctx.requestHeaders.toLua(),
    responseHeaders: ctx.sent?.headers.toLua() ?? {},
    responseStatus: ctx.sent?.status ?? 0,
    reqStartTime: ctx.startTime / 1000,
  };
  ctx.saved.serializeData = buildSerializeData(ctx, responseSize);
  const runLog = (): void => void runLogPhase(host.logger, worker, ctx, logPlugins, host.nativeLog);
  if (res.writableFinished) setImmediate(runLog);
  else res.once('close', () => setImmediate(runLog));
}
