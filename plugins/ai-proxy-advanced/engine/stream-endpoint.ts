/**
 * Streamed delivery (design.md "Why the plugin owns the upstream call"): `kong.response.exit` cannot stream, so
 * for a streaming request the access phase leaves a ticket here and points Kong's upstream at this loopback
 * HTTP endpoint, served by the plugin server process itself; Kong then proxies the stream to the client
 * natively. The endpoint runs the same attempt loop as the buffered path (failover until the provider's first
 * event was read and translated, stream-lease.ts), translates the provider's stream to OpenAI SSE frames as they
 * arrive, and reports latency and usage to the balancer when the stream ends.
 *
 * The attempt loop starts when the ticket is issued, not when Kong connects: the provider is called while the
 * access phase still makes its last PDK calls and Kong connects here, so those round trips overlap the provider's
 * time to first event instead of adding to it (issue 10). The buffered path calls the provider from access too;
 * a ticket Kong never claims (a later plugin ended the request) is dropped by the plugin's log phase
 * (`dropUnclaimed`) or after TICKET_TTL_MS, which aborts its provider request.
 *
 * Only Kong should reach it: it listens on 127.0.0.1 (streamListenAddress), and every request must name a ticket
 * that access issued moments before (128 random bits, used once, forgotten after TICKET_TTL_MS).
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { runAttempts, type AttemptDeps, type AttemptsResult, type BufferedResult, type PluginRuntime } from './attempts';
import type { ParsedBody } from './parse-request';
import type { ClientRequest } from './pdk';
import { ConfigError, InternalError, StreamTicketError } from '../errors';
import type { StreamLease } from './stream-lease';
import { modelHeaderValue } from './target-context';
import { errorResponse, wireBody, type ClientResponse } from './responses';
import type { StreamRecord } from '../observability/record';
import { onShutdown } from '../../../kong/pluginserver/shutdown-hooks';

/**
 * Where the endpoint listens and where Kong is sent: AI_PROXY_ADVANCED_STREAM_HOST (default 127.0.0.1) and
 * AI_PROXY_ADVANCED_STREAM_PORT (default 0: any free port). Kong starts its plugin servers next to itself, so
 * loopback is right; a plugin server run outside Kong's network namespace needs an address Kong can reach.
 */
export function streamListenAddress(env: NodeJS.ProcessEnv = process.env): { host: string; port: number } {
  const host = env.AI_PROXY_ADVANCED_STREAM_HOST?.trim() || '127.0.0.1';
  const rawPort = env.AI_PROXY_ADVANCED_STREAM_PORT?.trim() || '0';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) throw new ConfigError(`AI_PROXY_ADVANCED_STREAM_PORT must be a port number (0 for any free port), got '${rawPort}'`);
  return { host, port };
}

/** Path prefix Kong is pointed at; the ticket follows. */
export const STREAM_PATH = '/ai-proxy-advanced/stream/';
/** Kong connects within milliseconds of access; a ticket older than this is dropped unused. */
export const TICKET_TTL_MS = 60_000;

export interface StreamJob {
  rt: PluginRuntime;
  client: ClientRequest;
  parsed: ParsedBody;
  deps: AttemptDeps;
  /** Turns a non-stream outcome (all attempts failed, a provider error status) into the client's response. */
  respond(result: BufferedResult): ClientResponse;
  /** Failures the operator should see (the buffered path logs them through kong.log.err). */
  log(message: string): void;
  /** The request's analytics record (observability/record.ts), finished here when the stream ends. */
  record?: StreamRecord;
}

/** What the attempt loop ended with, or what it threw (kept, so that an unclaimed ticket rejects nothing). */
type Attempted = { kind: 'done'; result: AttemptsResult } | { kind: 'thrown'; error: unknown };

interface Ticket {
  job: StreamJob;
  issuedAt: number;
  /** The attempt loop, running since the ticket was issued. */
  attempted: Promise<Attempted>;
  /** Aborts the attempts: Kong's connection closed early, or the ticket was dropped unclaimed. */
  gone: AbortController;
}

export interface StreamEndpoint {
  /** The address Kong must be pointed at (kong.service.set_target). */
  readonly host: string;
  readonly port: number;
  /** Registers a job and starts its attempts; returns the path Kong must request. */
  issue(job: StreamJob): string;
  /**
   * Drops a ticket Kong has not claimed (the request ended without reaching here), aborting its provider request;
   * true when there was one. A claimed ticket is left alone.
   */
  dropUnclaimed(id: string): boolean;
  close(): Promise<void>;
}

function send(res: http.ServerResponse, r: ClientResponse): void {
  const body = wireBody(r.body);
  res.writeHead(r.status, { ...r.headers, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

type RelayEnd = 'ended' | { broken: string } | 'client-gone';

/**
 * Pipes a provider stream through its translator to the response, with backpressure; resolves when done.
 * Mid-stream the status is already sent, so a provider that breaks off, or sends what its translator cannot
 * read, gets the client connection cut: the only honest signal left for the client.
 */
function relay(lease: StreamLease, res: http.ServerResponse, clientGone: AbortSignal, record?: StreamRecord): Promise<RelayEnd> {
  const { body, translator } = lease;
  return new Promise((resolve) => {
    let done = false;
    const finish = (how: RelayEnd): void => {
      if (done) return;
      done = true;
      resolve(how);
    };
    const broken = (why: string): void => {
      if (done) return; // e.g. the 'close' that follows a normal 'end'
      body.destroy();
      // What was written still goes out (at least the head and the first event: the provider may have broken off
      // before Kong connected), then the connection closes without HTTP's last chunk, which Kong sees as a cut
      // stream. A plain destroy here would drop the head still corked in this tick, leaving Kong a bare 502.
      const socket = res.socket;
      if (socket && !socket.destroyed) socket.destroySoon();
      else res.destroy();
      finish({ broken: why });
    };
    const gone = (): void => {
      if (done) return;
      body.destroy();
      finish('client-gone');
    };
    if (clientGone.aborted) return gone();
    clientGone.addEventListener('abort', gone, { once: true });
    // A native llm_format stream's frames are the provider's bytes, one latin1 character each.
    const encoding: BufferEncoding = translator.passThrough ? 'latin1' : 'utf8';
    /** Writes `frames` as one chunk; false when the socket is full (the caller waits for 'drain'). */
    const write = (frames: readonly string[]): boolean => {
      if (frames.length === 0) return true;
      record?.frames(frames);
      return res.write(frames.length === 1 ? (frames[0] as string) : frames.join(''), encoding);
    };
    const end = (): void => {
      try {
        write(translator.end());
      } catch (err) {
        return broken(`its stream could not be translated: ${(err as Error).message}`);
      }
      res.end();
      finish('ended');
    };
    // What was read to decide the attempt (at least its first event) goes first.
    const firstWritten = write(lease.first);
    if (lease.ended) {
      res.end();
      return finish('ended');
    }
    // The provider may have ended (or broken) while the body sat paused after its first event: a paused
    // Readable still emits 'end' once its buffer is empty, before these listeners existed.
    if (body.readableEnded) return end();
    if (body.destroyed) return broken('its stream broke off');
    // Pulled with read(), not 'data' events: undici pushes one chunk per HTTP chunk of the provider's answer,
    // that is one per event it wrote, and read() hands over everything buffered since the last pull as one
    // Buffer. The events one socket read brought are then translated, counted and written as one chunk (one
    // chunk header for Kong to parse), not one by one (issue 10: a 200-event burst went through as ~107 writes,
    // now 3). Nothing waits for more: read() takes what is there now.
    let draining = false;
    const drained = (): void => {
      draining = false;
      pump();
    };
    const pump = (): void => {
      // The socket is full: what follows stays in the body (undici pauses the provider once the body's buffer
      // is full too) until it drains; 'readable' may still fire meanwhile.
      if (draining) return;
      let chunk: Buffer | null;
      while (!done && (chunk = body.read() as Buffer | null) !== null) {
        let ok: boolean;
        try {
          ok = write(translator.push(chunk));
        } catch (err) {
          return broken(`its stream could not be translated: ${(err as Error).message}`);
        }
        if (!ok) {
          draining = true;
          res.once('drain', drained);
          return;
        }
      }
    };
    body.on('readable', pump);
    body.on('end', () => {
      if (!done) end();
    });
    body.on('error', (err) => broken(`its stream broke off: ${err.message}`));
    // A body destroyed without an error or an end (should not happen) must still settle the relay.
    body.on('close', () => broken('its stream closed before it ended'));
    // What followed the first event is already buffered: it goes out with it, unless the first frames filled
    // the socket.
    if (firstWritten) pump();
    else {
      draining = true;
      res.once('drain', drained);
    }
  });
}

/**
 * Starts a ticket's attempt loop on the next turn of the event loop, so that the PDK call access makes right
 * after issuing the ticket reaches Kong first: building (and signing) the provider request takes CPU, and the
 * rest of the access phase is on the way to the first chunk too. `gone` aborts it (the client went away).
 */
function startAttempts(job: StreamJob, gone: AbortSignal): Promise<Attempted> {
  return new Promise<void>((resolve) => setImmediate(resolve))
    .then(() => {
      if (gone.aborted) throw new Error('the stream ticket was dropped before its attempts started');
      return runAttempts(job.rt, job.client, job.parsed, job.deps, { stream: true, clientGone: gone });
    })
    .then(
      (result): Attempted => ({ kind: 'done', result }),
      (error: unknown): Attempted => ({ kind: 'thrown', error }),
    );
}

/** Ends a ticket nobody will claim: aborts its provider request, or closes the stream it already opened. */
function abandon(ticket: Ticket): void {
  ticket.gone.abort();
  void ticket.attempted.then((a) => {
    if (a.kind === 'done' && a.result.kind === 'stream') {
      const { lease } = a.result;
      lease.body.destroy();
      // As a client that went away: the provider is not at fault, and what it streamed still counts.
      lease.finish({ ok: true, usage: lease.translator.usage(), complete: false });
    }
    ticket.job.record?.abandon();
  });
}

async function serve(ticket: Ticket, res: http.ServerResponse): Promise<void> {
  const { job, gone } = ticket;
  // Kong's connection may close at any time, even before the provider answers: abort whatever is in flight.
  res.on('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const attempted = await ticket.attempted;
  if (attempted.kind === 'thrown') {
    const err = attempted.error;
    job.record?.abandon();
    const response = errorResponse(err);
    // As the buffered path does (engine.ts): a bug is logged with its detail, the client gets the generic answer.
    if (response.status >= 500 && !(err as { userFacing?: boolean } | undefined)?.userFacing) {
      job.log(`ai-proxy-advanced: unexpected error: ${(err as Error)?.stack ?? String(err)}`);
    }
    if (!gone.signal.aborted) send(res, response);
    return;
  }
  const result = attempted.result;
  if (result.kind !== 'stream') {
    if (gone.signal.aborted) {
      job.record?.abandon();
      return;
    }
    job.record?.answered(result, undefined);
    if (result.kind === 'failure') {
      job.log(`ai-proxy-advanced: no upstream answered (${result.tried.length} attempt(s)); last: ${result.reason}`);
    }
    send(res, job.respond(result));
    return;
  }
  // From here the pick must be reported exactly once and the provider stream consumed or destroyed, whatever
  // throws (least-connections counts picks in flight).
  const lease = result.lease;
  let how: RelayEnd | undefined;
  try {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(lease.headers)) {
      if (k !== 'content-type' && k !== 'content-encoding') headers[k] = v;
    }
    // A native llm_format stream keeps the provider's type (Bedrock's binary event stream, Gemini's JSON array).
    const providerType = lease.translator.passThrough ? lease.headers['content-type'] : undefined;
    headers['content-type'] = providerType ?? 'text/event-stream; charset=utf-8';
    headers['cache-control'] = 'no-cache';
    // nginx buffers proxied responses by default (Kong's route response_buffering); this header turns that off for
    // this response, so each chunk reaches the client as it comes. nginx hides it from the client.
    headers['x-accel-buffering'] = 'no';
    const config = job.rt.config;
    const model = modelHeaderValue(result.target.model.provider, result.model);
    if ((config.model_name_header || job.client.headers.has('kong-debug')) && result.model !== '' && model !== undefined) {
      headers['x-kong-llm-model'] = model;
    }
    // The head goes out with the first event: until that event was read and translated the attempt could still
    // fail over (stream-lease.ts); anything that fails later ends as a cut stream.
    res.writeHead(lease.status, headers);
    how = await relay(lease, res, gone.signal, job.record);
  } finally {
    if (how === undefined) {
      lease.body.destroy();
      lease.finish({ ok: false });
      job.record?.streamed(result, lease.translator.usage(), lease.translator.text(), lease.translator.finishReason?.());
      if (!res.headersSent) send(res, errorResponse(new InternalError(undefined, { cause: new Error('stream relay failed') })));
      else res.destroy();
    }
  }
  if (typeof how === 'object') {
    lease.finish({ ok: false });
    job.log(`ai-proxy-advanced: ${result.target.model.provider}/${result.model} failed mid-stream, ${how.broken}; the client got a cut stream`);
  } else {
    // A client that went away is not the provider's fault: the tokens it streamed until then still count.
    lease.finish({ ok: true, usage: lease.translator.usage(), complete: how === 'ended' });
  }
  job.record?.streamed(result, lease.translator.usage(), lease.translator.text(), lease.translator.finishReason?.());
}

export function createStreamEndpoint(now: () => number = Date.now, address = streamListenAddress()): Promise<StreamEndpoint> {
  const tickets = new Map<string, Ticket>();
  let active = 0;
  const unhook = onShutdown({ name: 'ai-proxy-advanced stream endpoint', busy: () => active });
  // noDelay: Node's default since v18, explicit because this is where real Kong reads the stream from: small SSE
  // frames must never wait for an ACK (Nagle's algorithm meeting a delayed ACK costs 40 ms a frame).
  const server = http.createServer({ noDelay: true }, (req, res) => {
    // Kong forwards the client's body; the job already holds the parsed copy.
    req.resume();
    const url = req.url ?? '';
    const id = url.startsWith(STREAM_PATH) ? url.slice(STREAM_PATH.length).split('?')[0] : undefined;
    const ticket = id === undefined ? undefined : tickets.get(id);
    if (!ticket || id === undefined) {
      send(res, errorResponse(new StreamTicketError()));
      return;
    }
    tickets.delete(id);
    // Counted for the plugin server's shutdown drain: a live stream is work Kong is still proxying.
    active++;
    res.once('close', () => active--);
    serve(ticket, res).catch((err: unknown) => {
      ticket.job.log(`ai-proxy-advanced: unexpected error while streaming: ${(err as Error)?.stack ?? String(err)}`);
      if (!res.headersSent) send(res, errorResponse(err));
      else res.destroy();
    });
  });
  // Streams last as long as the provider talks; Kong's own proxy timeouts bound them.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  // Longer than nginx's upstream keepalive idle timeout (60 s): Kong must never reuse a connection this side is
  // closing, since a POST that fails that way is not retried.
  server.keepAliveTimeout = 75_000;
  const sweeper = setInterval(() => {
    const limit = now() - TICKET_TTL_MS;
    for (const [id, t] of tickets) {
      if (t.issuedAt >= limit) continue;
      tickets.delete(id);
      abandon(t);
    }
  }, 10_000);
  sweeper.unref();
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      // The endpoint must not keep a process alive on its own (tests, dump mode).
      server.unref();
      const port = (server.address() as AddressInfo).port;
      resolve({
        host: address.host,
        port,
        issue(job) {
          const id = randomBytes(16).toString('hex');
          const gone = new AbortController();
          tickets.set(id, { job, issuedAt: now(), gone, attempted: startAttempts(job, gone.signal) });
          return `${STREAM_PATH}${id}`;
        },
        dropUnclaimed(id) {
          const t = tickets.get(id);
          if (!t) return false;
          tickets.delete(id);
          abandon(t);
          return true;
        },
        close: () =>
          new Promise<void>((done) => {
            clearInterval(sweeper);
            unhook();
            for (const t of tickets.values()) abandon(t);
            tickets.clear();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

let shared: Promise<StreamEndpoint> | undefined;

/** The process's endpoint, started on first use. */
export function streamEndpoint(): Promise<StreamEndpoint> {
  if (!shared) {
    shared = createStreamEndpoint();
    shared.catch(() => {
      shared = undefined;
    });
  }
  return shared;
}

/** `dropUnclaimed` on the process's endpoint, if it was started (the plugin's log phase). */
export async function dropUnclaimedTicket(id: string): Promise<boolean> {
  return shared ? (await shared).dropUnclaimed(id) : false;
}

/** Stops the process's endpoint (tests, graceful shutdown). */
export async function closeStreamEndpoint(): Promise<void> {
  const s = shared;
  shared = undefined;
  if (s) await (await s).close();
}
