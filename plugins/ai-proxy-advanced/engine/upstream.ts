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
import { withOwn } from '../providers/translator-kit/assign-own';
import { MAX_PENDING_EVENT } from '../providers/streams/framer';
import { AnswersOverBudget, answersMaxBytes, ByteBudget } from './answer-budget';

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
 * `failover_criteria`) and the connection is dropped. An uncompressed stream is relayed with backpressure; what
 * its translation holds is bounded apart: a partial line or event by the framers' MAX_PENDING_EVENT
 * (providers/streams/framer.ts), the generated text by streamed-text.ts MAX_KEPT_TEXT.
 */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** All buffered answers this process holds at once (answer-budget.ts). */
export const answerBudget = new ByteBudget(
  answersMaxBytes(process.env, MAX_RESPONSE_BYTES, (m) => process.stderr.write(`[ai-proxy-advanced] ${m}\n`)),
);

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
  if (code === 'AIPA_UPSTREAM_ANSWERS_OVER_BUDGET') {
    return { failure: { kind: 'error', sent: true }, message: `upstream answers held by this plugin server over ${answerBudget.limit} bytes (AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES)` };
  }
  if (code === 'AIPA_UPSTREAM_EVENT_TOO_LARGE') {
    return { failure: { kind: 'error', sent: true }, message: `upstream stream event too large (more than ${MAX_PENDING_EVENT} characters)` };
  }
  if (code.startsWith('HPE_')) return { failure: { kind: 'invalid_header', sent: true }, message: `upstream sent an invalid response (${code})` };
  return { failure: { kind: 'error', sent: true }, message: `upstream connection failed (${code})` };
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(h)) {
    const v = h[k];
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
 * more than `max` bytes are kept, nor more than the process's answer budget has left (answer-budget.ts), and
 * `fail` is called (once) when there would be more. Kept bytes are held in the budget until the body is handed
 * over, fails or is discarded (a reset or timeout mid-answer).
 */
class BodyCollector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private readonly inflater: Transform | undefined;
  /** Nothing more is kept: failed, discarded or handed over. */
  private closed = false;
  private error: Error | undefined;
  /** Compressed bytes went into the inflater (an empty body with a Content-Encoding is just empty). */
  private wrote = false;

  constructor(
    headers: Record<string, string>,
    private readonly max: number,
    private readonly fail: (err: Error) => void,
    private readonly budget: ByteBudget = answerBudget,
  ) {
    this.inflater = inflaterFor(headers);
    if (this.inflater) {
      this.inflater.on('data', (c: Buffer) => this.keep(c));
      this.inflater.on('error', (err) => this.failWith(err));
    }
  }

  private failWith(err: Error): void {
    if (this.closed) return;
    this.discard();
    this.error = err;
    this.fail(err);
  }

  /** Drops what was kept and gives its bytes back to the process budget; nothing is kept after. Idempotent. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    this.chunks.length = 0;
    this.budget.give(this.size);
    this.size = 0;
    this.inflater?.destroy();
  }

  private keep(c: Buffer): void {
    if (this.closed) return;
    if (this.size + c.length > this.max) return this.failWith(new UpstreamResponseTooLarge(this.max));
    if (!this.budget.take(c.length)) return this.failWith(new AnswersOverBudget(this.budget.limit));
    this.size += c.length;
    this.chunks.push(c);
  }

  /** The whole body, handed over: its bytes leave the budget (the engine holds it only until the exit). */
  private whole(): Buffer {
    const body = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    this.closed = true;
    this.chunks.length = 0;
    this.budget.give(this.size);
    this.size = 0;
    return body;
  }

  push(chunk: Buffer): void {
    if (this.closed) return;
    if (this.inflater) {
      this.wrote = true;
      this.inflater.write(chunk);
    } else this.keep(chunk);
  }

  /**
   * The whole (inflated) body once the provider's last byte was read: `done` at once when nothing is being
   * inflated (no promise or tick per answer), else once the inflater ended; `fail` when it failed.
   */
  end(done: (body: Buffer) => void, fail: (err: Error) => void): void {
    const inflater = this.inflater;
    if (!inflater || !this.wrote) {
      inflater?.destroy();
      if (!this.closed) done(this.whole());
      return;
    }
    inflater.once('end', () => {
      if (!this.closed) done(this.whole());
    });
    inflater.once('error', fail);
    if (this.closed) fail(this.error ?? new UpstreamResponseTooLarge(this.max));
    else inflater.end();
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
  const headers = hasHeader(req.headers, 'content-length') ? req.headers : withOwn(req.headers, { 'content-length': String(body.length) });
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
 * One request through undici's dispatch API; the instance is undici's handler, so a call allocates no closures
 * for it, and it settles its one promise with the result itself (never rejects). Buffered, the answer is
 * collected straight from the parser's chunks (no Readable per response; measured ~25% less client CPU than
 * `request()` + `arrayBuffer()`). `streamed`: a 2xx resolves at the response head with its body flowing into a
 * Readable with backpressure (the parser is paused while the reader is behind); destroying that Readable aborts
 * the provider request (the client went away). Either way read_timeout bounds every wait for the next read.
 * The cheapest way through undici measured (December 2026, bench upstream, 20 in flight): dispatch on the shared
 * Agent with a Buffer body. Per call, request() + arrayBuffer() cost ~7 µs more, a Pool per origin or headers as
 * an array nothing less; undici's legacy handler methods (onConnect, onHeaders, ...), which skip its
 * UnwrapHandler and header parsing, ~2 µs less, but undici 7 deprecates them.
 */
class ProviderCall implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | undefined;
  private timer: UpstreamTimer | undefined;
  private status = 0;
  private headers: Record<string, string> = {};
  private collector: BodyCollector | undefined;
  /** The streamed 2xx body as undici delivers it; `body` is what the reader gets (inflated when compressed). */
  private source: Readable | undefined;
  private body: Readable | undefined;
  private settled = false;
  private ended = false;

  constructor(
    private readonly readMs: number,
    private readonly watch: WriteWatch | undefined,
    private readonly streamed: boolean,
    private readonly signal: AbortSignal | undefined,
    private readonly timers: UpstreamTimers,
    private readonly maxBytes: number,
    private readonly settle: (r: UpstreamStreamResult) => void,
  ) {}

  private succeed(response: UpstreamStream): void {
    if (this.settled) return;
    this.settled = true;
    this.settle({ ok: true, response });
  }

  private fail(err: unknown): void {
    if (this.settled) return;
    this.settled = true;
    const c = classifyUndiciError(err);
    this.settle({ ok: false, failure: c.failure, message: c.message });
  }

  /** Armed once the request is sent, refreshed by every read; a native timer keeps read_timeout's resolution. */
  private read(): void {
    if (this.timer) this.timer.refresh();
    else this.timer = this.timers.setTimeout(() => this.controller?.abort(new UpstreamReadTimeout(this.readMs)), this.readMs);
  }

  private stopTimer(): void {
    this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    const signal = this.signal;
    if (signal) {
      const gone = (): void => c.abort(new Error('the client went away'));
      if (signal.aborted) gone();
      else signal.addEventListener('abort', gone, { once: true });
    }
    const watch = this.watch;
    if (watch) {
      watch.abort = (err) => c.abort(err);
      watch.sent = () => this.read();
    } else this.read();
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, h: Record<string, string | string[] | undefined>): void {
    this.read();
    this.status = statusCode;
    const headers = (this.headers = flattenHeaders(h));
    if (!this.streamed || statusCode < 200 || statusCode >= 300) {
      this.collector = new BodyCollector(headers, this.maxBytes, (err) => {
        if (!this.ended) this.controller?.abort(err);
        else this.fail(err);
      });
      return;
    }
    const src = new Readable({
      // The reader wants more: resume the parser, and wait for the provider again (the timer is off while
      // we, not the provider, hold things up: nginx times out only reads it is waiting on).
      read: () => {
        if (this.ended) return;
        this.read();
        this.controller?.resume();
      },
      destroy: (err, cb) => {
        this.timers.clearTimeout(this.timer);
        if (!this.ended) this.controller?.abort(err ?? new Error('the client went away'));
        cb(err);
      },
    });
    this.source = src;
    const inflate = inflaterFor(headers);
    // pipeline passes an error (read timeout, reset, too large) on to every stage, and destroying the last
    // stage (the client went away) destroys the source, which aborts the provider request.
    const body = inflate ? pipeline(src, inflate, byteLimit(this.maxBytes), () => {}) : src;
    this.body = body;
    // A stream error (read timeout, reset) with nobody listening any more must not become an uncaught
    // 'error' event in the plugin server: readers that care add their own listener.
    body.on('error', () => {});
    this.succeed({ status: statusCode, headers, stream: body });
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.read();
    const source = this.source;
    if (!source) this.collector?.push(chunk);
    else if (!source.push(chunk)) {
      c.pause();
      this.stopTimer();
    }
  }

  onResponseEnd(): void {
    this.timers.clearTimeout(this.timer);
    this.ended = true;
    if (this.source) {
      this.source.push(null);
      return;
    }
    const c = this.collector ?? new BodyCollector(this.headers, this.maxBytes, () => {});
    c.end(
      (body) => this.succeed({ status: this.status, headers: this.headers, body }),
      (err) => this.fail(err),
    );
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.timers.clearTimeout(this.timer);
    // A reset, read timeout or abort mid-answer: what was kept goes back to the process budget.
    this.collector?.discard();
    if (!this.settled) this.fail(err);
    else this.body?.destroy(err);
  }
}

function run(req: SerializedRequest, timeouts: UpstreamTimeouts, streamed: boolean, signal: AbortSignal | undefined, timers: UpstreamTimers): Promise<UpstreamStreamResult> {
  let url: ReturnType<typeof parseUrl>;
  try {
    url = parseUrl(req.url);
  } catch (err) {
    return Promise.reject(err);
  }
  const { headers, sent, watch } = prepareBody(req, timeouts, timers);
  return new Promise((resolve) => {
    agentFor(timeouts.connectMs).dispatch(
      {
        origin: url.origin,
        path: url.pathname + url.search,
        method: req.method as Dispatcher.HttpMethod,
        headers,
        body: sent,
        // Off: read_timeout is ours (ProviderCall), with a native timer's resolution.
        headersTimeout: 0,
        bodyTimeout: 0,
      },
      new ProviderCall(timeouts.readMs, watch, streamed, signal, timers, MAX_RESPONSE_BYTES, resolve),
    );
  });
}

/** Buffered, a settled call always has its whole body: the result is the UpstreamResult itself. */
export const callUpstream: UpstreamCaller = (req, timeouts, timers = NATIVE_TIMERS) => run(req, timeouts, false, undefined, timers) as Promise<UpstreamResult>;

/** The provider call for streamed delivery: resolves at the response head. */
export const openUpstreamStream: UpstreamStreamOpener = (req, timeouts, signal, timers = NATIVE_TIMERS) => run(req, timeouts, true, signal, timers);
