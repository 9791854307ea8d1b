/**
 * The provider call, with undici: one pooled keep-alive Agent per connect timeout (module scope, shared by every
 * plugin instance of the process, so connections are reused across requests and config changes), read timeouts
 * per request. Failures become AttemptFailure kinds in nginx's vocabulary (see failover.ts).
 *
 * `write_timeout` is nginx's proxy_send_timeout: the longest wait for one write to the provider to be accepted,
 * not for the whole send. undici has no such timer, so a body that may not fit in the kernel's socket buffers
 * (over WATCHED_BODY_BYTES) is handed to undici in chunks from a generator: undici asks for the next chunk only
 * once the previous one was written (it awaits 'drain'), so a chunk not taken within write_timeout means the
 * provider stopped reading, and the request is aborted as a timeout. Smaller bodies are one write the kernel
 * takes at once, as in nginx, which arms its send timer only when a write would block.
 *
 * `read_timeout` is nginx's proxy_read_timeout: the longest wait for the next read once the request is sent
 * (for the headers, then between body chunks; for a watched body, from its last chunk). It runs on our own
 * native timer, not undici's headersTimeout / bodyTimeout: those use undici's "fast timers", which tick every
 * 499 ms, so a 100 ms read_timeout fired after about 1 s and a 1500 ms one after 2 s (measured), which matters
 * for configs that fail over away from slow providers.
 */
import { pipeline, Readable, Transform } from 'node:stream';
import zlib from 'node:zlib';
import { Agent, type Dispatcher } from 'undici';
import type { SerializedRequest } from '../providers/provider';
import { parseUrl } from '../providers/translator-kit/url';
import type { AttemptFailure } from './failover';

export interface UpstreamTimeouts {
  connectMs: number;
  readMs: number;
  writeMs: number;
}

/** A timer read_timeout or write_timeout runs on: Node's Timeout in production. */
export interface UpstreamTimer {
  refresh(): unknown;
}

/**
 * The timers read_timeout and write_timeout run on. Node's own in production (native resolution, see above);
 * tests inject theirs to see what was armed and fire it, instead of waiting on the wall clock.
 */
export interface UpstreamTimers {
  setTimeout(fn: () => void, ms: number): UpstreamTimer;
  clearTimeout(timer: UpstreamTimer | undefined): void;
}

export const NATIVE_TIMERS: UpstreamTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (timer) => clearTimeout(timer as NodeJS.Timeout | undefined),
};

/** Bodies larger than this are sent in chunks of this size under the write_timeout watchdog. */
export const WATCHED_BODY_BYTES = 64 * 1024;

/** Nothing came back from the provider for read_timeout. */
export class UpstreamReadTimeout extends Error {
  readonly code = 'AIPA_UPSTREAM_READ_TIMEOUT';
  constructor(ms: number) {
    super(`the provider sent nothing for ${ms} ms (read_timeout)`);
  }
}

/** The provider took no part of the request body for write_timeout. */
export class UpstreamWriteTimeout extends Error {
  readonly code = 'AIPA_UPSTREAM_WRITE_TIMEOUT';
  constructor(ms: number) {
    super(`the provider accepted no request data for ${ms} ms (write_timeout)`);
  }
}

/**
 * Most bytes a provider answer may take in the plugin server: a buffered answer as received and once inflated,
 * and a compressed stream once inflated (issue 11: a 1 MB gzip answer that inflates to 1 GB took the plugin
 * server to 2.1 GB through gunzipSync). 64 MiB is far above any chat answer and above OpenAI's largest
 * embeddings answers in JSON; beyond it the attempt fails as a provider error (`error`, failover per
 * `failover_criteria`) and the connection is dropped. An uncompressed stream is relayed with backpressure and
 * needs no limit.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The provider's answer (or its inflated form) is larger than MAX_RESPONSE_BYTES. */
export class UpstreamResponseTooLarge extends Error {
  readonly code = 'AIPA_UPSTREAM_RESPONSE_TOO_LARGE';
  constructor(max: number) {
    super(`the provider's answer is larger than ${max} bytes`);
  }
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export type UpstreamResult = { ok: true; response: UpstreamResponse } | { ok: false; failure: AttemptFailure; message: string };

export type UpstreamCaller = (req: SerializedRequest, timeouts: UpstreamTimeouts, timers?: UpstreamTimers) => Promise<UpstreamResult>;

const agents = new Map<number, Agent>();

function agentFor(connectMs: number): Agent {
  let a = agents.get(connectMs);
  if (!a) {
    a = new Agent({ connect: { timeout: connectMs }, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
    agents.set(connectMs, a);
  }
  return a;
}

/** Close the pooled connections (tests and graceful shutdown). */
export async function closeUpstreamAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close()));
}

const NOT_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'EADDRINUSE']);

export function classifyUndiciError(err: unknown): { failure: AttemptFailure; message: string } {
  const e = err as { name?: string; code?: string; cause?: { code?: string } };
  // undici's HTTPParserError carries no code in some paths: name it by its class.
  const code = e?.code ?? e?.cause?.code ?? (e?.name === 'HTTPParserError' ? 'HPE_INVALID' : 'UNKNOWN');
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return { failure: { kind: 'timeout', sent: false }, message: 'upstream timed out while connecting' };
  if (NOT_SENT.has(code)) return { failure: { kind: 'error', sent: false }, message: `upstream connect failed (${code})` };
  if (code === 'AIPA_UPSTREAM_WRITE_TIMEOUT') {
    return { failure: { kind: 'timeout', sent: true }, message: 'upstream timed out while sending the request' };
  }
  if (code === 'AIPA_UPSTREAM_READ_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
    return { failure: { kind: 'timeout', sent: true }, message: 'upstream timed out while reading the response' };
  }
  if (code === 'AIPA_UPSTREAM_RESPONSE_TOO_LARGE') {
    return { failure: { kind: 'error', sent: true }, message: `upstream answer too large (more than ${MAX_RESPONSE_BYTES} bytes, inflated)` };
  }
  if (code.startsWith('HPE_')) return { failure: { kind: 'invalid_header', sent: true }, message: `upstream sent an invalid response (${code})` };
  return { failure: { kind: 'error', sent: true }, message: `upstream connection failed (${code})` };
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * The Content-Encodings we can undo, always as streams (buffered answers too: never the *Sync convenience
 * functions, which inflate everything at once on the event loop). We ask for identity, but a provider may
 * compress anyway (Kong's 08-encoding spec sends gzip): the driver reads the inflated bytes, and Content-Encoding
 * is dropped since the bytes we pass on are plain.
 */
const ENCODINGS: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

function inflaterFor(headers: Record<string, string>): Transform | undefined {
  const enc = headers['content-encoding']?.trim().toLowerCase();
  const make = enc === undefined ? undefined : ENCODINGS[enc];
  if (make === undefined) return undefined;
  delete headers['content-encoding'];
  return make();
}

/** Passes bytes on until more than `max` went through, then fails with UpstreamResponseTooLarge. */
function byteLimit(max: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new UpstreamResponseTooLarge(max));
      else cb(null, chunk);
    },
  });
}

/**
 * A buffered answer collected as it arrives: raw bytes, or inflated bytes through a zlib stream; either way no
 * more than `max` bytes are kept, and `fail` is called (once) when there would be more.
 */
class BodyCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly inflater: Transform | undefined;
  private failed = false;
  /** Compressed bytes went into the inflater (an empty body with a Content-Encoding is just empty). */
  private wrote = false;
  private ended: Promise<Buffer> | undefined;

  constructor(
    headers: Record<string, string>,
    private readonly max: number,
    private readonly fail: (err: Error) => void,
  ) {
    this.inflater = inflaterFor(headers);
    if (this.inflater) {
      this.inflater.on('data', (c: Buffer) => this.keep(c));
      this.inflater.on('error', (err) => this.failWith(err));
    }
  }

  private failWith(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.chunks.length = 0;
    this.inflater?.destroy();
    this.fail(err);
  }

  private keep(c: Buffer): void {
    if (this.failed) return;
    this.size += c.length;
    if (this.size > this.max) return this.failWith(new UpstreamResponseTooLarge(this.max));
    this.chunks.push(c);
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    if (this.inflater) {
      this.wrote = true;
      this.inflater.write(chunk);
    } else this.keep(chunk);
  }

  /** The whole (inflated) body once the provider's last byte was read; rejects when it failed. */
  end(): Promise<Buffer> {
    if (!this.ended) {
      this.ended = new Promise<Buffer>((resolve, reject) => {
        const done = (): void => {
          if (this.failed) return;
          resolve(this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks));
        };
        const inflater = this.inflater;
        if (!inflater || !this.wrote) {
          inflater?.destroy();
          return done();
        }
        inflater.once('end', done);
        inflater.once('error', reject);
        if (this.failed) reject(new UpstreamResponseTooLarge(this.max));
        else inflater.end();
      });
    }
    return this.ended;
  }
}

interface WriteWatch {
  /** Set once undici has started the request: aborts it. */
  abort: ((err: Error) => void) | undefined;
  /** Set once undici has started the request: the whole body was taken, so read_timeout starts. */
  sent: (() => void) | undefined;
}

/**
 * The body in WATCHED_BODY_BYTES chunks; a chunk undici has not come back from (written, or 'drain' after
 * it) within `writeMs` aborts the request with UpstreamWriteTimeout.
 */
async function* watchedBody(body: Buffer, writeMs: number, watch: WriteWatch, timers: UpstreamTimers): AsyncGenerator<Buffer> {
  let timer: UpstreamTimer | undefined;
  try {
    for (let off = 0; off < body.length; off += WATCHED_BODY_BYTES) {
      timer = timers.setTimeout(() => watch.abort?.(new UpstreamWriteTimeout(writeMs)), writeMs);
      yield body.subarray(off, off + WATCHED_BODY_BYTES);
      timers.clearTimeout(timer);
    }
    watch.sent?.();
  } finally {
    timers.clearTimeout(timer);
  }
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  for (const k of Object.keys(headers)) if (k.toLowerCase() === name) return true;
  return false;
}

function prepareBody(req: SerializedRequest, timeouts: UpstreamTimeouts, timers: UpstreamTimers): { headers: Record<string, string>; sent: Dispatcher.DispatchOptions['body']; watch: WriteWatch | undefined } {
  const body = req.body ?? null;
  if (body === null || body.length <= WATCHED_BODY_BYTES) return { headers: req.headers, sent: body, watch: undefined };
  const watch: WriteWatch = { abort: undefined, sent: undefined };
  // undici writes any async iterable chunk by chunk (client-h1 writeIterable), though its types list only
  // streams; a Readable here would read ahead of the socket and blind the watchdog.
  const sent = watchedBody(body, timeouts.writeMs, watch, timers) as unknown as Dispatcher.DispatchOptions['body'];
  // A generator has no length: without Content-Length undici would switch to chunked encoding.
  const headers = hasHeader(req.headers, 'content-length') ? req.headers : { ...req.headers, 'content-length': String(body.length) };
  return { headers, sent, watch };
}

/** A provider answer opened for streaming: a 2xx carries its body as a stream, anything else is buffered. */
export interface UpstreamStream {
  status: number;
  headers: Record<string, string>;
  /** 2xx: the (decompressed) body as it arrives; read it or destroy it. */
  stream?: Readable;
  /** Non-2xx: the whole body, for the driver's fromError. */
  body?: Buffer;
}

export type UpstreamStreamResult = { ok: true; response: UpstreamStream } | { ok: false; failure: AttemptFailure; message: string };

/** `signal`: the client went away; the provider request is aborted. */
export type UpstreamStreamOpener = (req: SerializedRequest, timeouts: UpstreamTimeouts, signal?: AbortSignal, timers?: UpstreamTimers) => Promise<UpstreamStreamResult>;


/**
 * One request through undici's dispatch API. Buffered, the answer is collected straight from the parser's
 * chunks (no Readable per response; measured ~25% less client CPU than `request()` + `arrayBuffer()`).
 * `streamed`: a 2xx resolves at the response head with its body flowing into a Readable with backpressure (the
 * parser is paused while the reader is behind); destroying that Readable aborts the provider request (the
 * client went away). Either way read_timeout bounds every wait for the next read.
 */
function dispatch(
  agent: Agent,
  opts: Dispatcher.DispatchOptions,
  readMs: number,
  watch: WriteWatch | undefined,
  streamed: boolean,
  signal: AbortSignal | undefined,
  timers: UpstreamTimers,
  maxBytes = MAX_RESPONSE_BYTES,
): Promise<UpstreamStream> {
  return new Promise((resolve, reject) => {
    let collector: BodyCollector | undefined;
    let status = 0;
    let headers: Record<string, string> = {};
    let controller: Dispatcher.DispatchController | undefined;
    let timer: UpstreamTimer | undefined;
    /** The streamed 2xx body as undici delivers it; `body` is what the reader gets (inflated when compressed). */
    let source: Readable | undefined;
    let body: Readable | undefined;
    let settled = false;
    let ended = false;
    // Armed once the request is sent, refreshed by every read; a native timer keeps read_timeout's resolution.
    const read = (): void => {
      if (timer) timer.refresh();
      else timer = timers.setTimeout(() => controller?.abort(new UpstreamReadTimeout(readMs)), readMs);
    };
    agent.dispatch(opts, {
      onRequestStart(c) {
        controller = c;
        if (signal) {
          const gone = (): void => c.abort(new Error('the client went away'));
          if (signal.aborted) gone();
          else signal.addEventListener('abort', gone, { once: true });
        }
        if (watch) {
          watch.abort = (err) => c.abort(err);
          watch.sent = read;
        } else read();
      },
      onResponseStart(_c, statusCode, h) {
        read();
        status = statusCode;
        headers = flattenHeaders(h);
        if (!streamed || status < 200 || status >= 300) {
          collector = new BodyCollector(headers, maxBytes, (err) => {
            if (!ended) controller?.abort(err);
            else if (!settled) {
              settled = true;
              reject(err);
            }
          });
          return;
        }
        const src = new Readable({
          // The reader wants more: resume the parser, and wait for the provider again (the timer is off while
          // we, not the provider, hold things up: nginx times out only reads it is waiting on).
          read: () => {
            if (ended) return;
            read();
            controller?.resume();
          },
          destroy: (err, cb) => {
            timers.clearTimeout(timer);
            if (!ended) controller?.abort(err ?? new Error('the client went away'));
            cb(err);
          },
        });
        source = src;
        const inflate = inflaterFor(headers);
        // pipeline passes an error (read timeout, reset, too large) on to every stage, and destroying the last
        // stage (the client went away) destroys the source, which aborts the provider request.
        body = inflate ? pipeline(src, inflate, byteLimit(maxBytes), () => {}) : src;
        // A stream error (read timeout, reset) with nobody listening any more must not become an uncaught
        // 'error' event in the plugin server: readers that care add their own listener.
        body.on('error', () => {});
        settled = true;
        resolve({ status, headers, stream: body });
      },
      onResponseData(c, chunk) {
        read();
        if (!source) collector?.push(chunk);
        else if (!source.push(chunk)) {
          c.pause();
          timers.clearTimeout(timer);
          timer = undefined;
        }
      },
      onResponseEnd() {
        timers.clearTimeout(timer);
        ended = true;
        if (source) {
          source.push(null);
          return;
        }
        const c = collector ?? new BodyCollector(headers, maxBytes, () => {});
        c.end().then(
          (body) => {
            if (settled) return;
            settled = true;
            resolve({ status, headers, body });
          },
          (err: unknown) => {
            if (settled) return;
            settled = true;
            reject(err);
          },
        );
      },
      onResponseError(_c, err) {
        timers.clearTimeout(timer);
        if (!settled) {
          settled = true;
          reject(err);
        } else body?.destroy(err);
      },
    });
  });
}

async function run(req: SerializedRequest, timeouts: UpstreamTimeouts, streamed: boolean, signal: AbortSignal | undefined, timers: UpstreamTimers): Promise<UpstreamStreamResult> {
  const url = parseUrl(req.url);
  const { headers, sent, watch } = prepareBody(req, timeouts, timers);
  try {
    const response = await dispatch(
      agentFor(timeouts.connectMs),
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: sent,
        // Off: read_timeout is ours (dispatch above), with a native timer's resolution.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      timeouts.readMs,
      watch,
      streamed,
      signal,
      timers,
    );
    return { ok: true, response };
  } catch (err) {
    return { ok: false, ...classifyUndiciError(err) };
  }
}

export const callUpstream: UpstreamCaller = async (req, timeouts, timers = NATIVE_TIMERS) => {
  const r = await run(req, timeouts, false, undefined, timers);
  return r.ok ? { ok: true, response: { status: r.response.status, headers: r.response.headers, body: r.response.body as Buffer } } : r;
};

/** The provider call for streamed delivery: resolves at the response head. */
export const openUpstreamStream: UpstreamStreamOpener = (req, timeouts, signal, timers = NATIVE_TIMERS) => run(req, timeouts, true, signal, timers);
