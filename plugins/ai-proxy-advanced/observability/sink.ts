/**
 * The plugin server's own log sink: JSON lines in Kong's log shape (kong.log.serialize() with the `ai.proxy`
 * block), for what Kong's log plugins cannot get from an external plugin (streamed requests: README "Analytics").
 * Configured by environment variables of the plugin server process:
 *   AI_PROXY_ADVANCED_LOG_FILE            append one JSON line per entry to this file (as Kong's file-log)
 *   AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT   POST entries to this http(s) URL (as Kong's http-log: one JSON object per
 *                                         request, or a JSON array when batching)
 *   AI_PROXY_ADVANCED_LOG_HTTP_BATCH_SIZE entries per POST (default 1), coalesced for at most 1 s
 *   AI_PROXY_ADVANCED_LOG_HTTP_TIMEOUT_MS per POST (default 10000); failed POSTs are retried with Kong's queue
 *                                         back-off for 60 s, then dropped with an error on stderr
 *   AI_PROXY_ADVANCED_LOG_REQUESTS        `streamed` (default): only streamed requests, whose analytics Kong's log
 *                                         plugins miss; `all`: every request whose target logs statistics
 * Writing never blocks a request: the file is appended through a stream, the POSTs go through a bounded queue.
 * When the plugin server stops (SIGTERM), it waits for streams that just ended to be logged, then closes the sink:
 * the file is flushed and queued POSTs get what is left of the drain deadline (log-phase.ts, shutdown-hooks.ts).
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { request } from 'undici';
import { ConfigError } from '../errors';
import { KONG_QUEUE_DEFAULTS, LogQueue, realQueueDeps } from './queue';

export interface LogSink {
  /** `all`: every request with statistics; `streamed`: streamed requests only. */
  readonly scope: 'streamed' | 'all';
  write(entry: Record<string, unknown>): void;
  /** Flushes the file and sends what is queued, giving the endpoint at most `waitMs` (then drops, with a warning). */
  close(waitMs?: number): Promise<void>;
}

function stderr(message: string): void {
  process.stderr.write(`[ai-proxy-advanced] log sink: ${message}\n`);
}

function positiveInt(env: NodeJS.ProcessEnv, name: string, fallback: number, max: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || Number(raw) > max) throw new ConfigError(`${name} must be an integer between 1 and ${max}, got '${raw}'`);
  return Number(raw);
}

/**
 * Appends lines to a file through one stream opened on first use (O_APPEND, as Kong's file-log). An error is
 * reported once through `onError`; the next write opens the file again. Shared by the sink and the local
 * gateway's file-log.
 */
export class AppendFile {
  private stream: WriteStream | undefined;
  private failed = false;
  constructor(
    private readonly path: string,
    private readonly onError: (err: Error) => void,
  ) {}
  write(line: string): void {
    if (!this.stream) {
      this.stream = createWriteStream(this.path, { flags: 'a' });
      this.stream.on('error', (err) => {
        if (!this.failed) this.onError(err);
        this.failed = true;
        this.stream = undefined;
      });
    }
    this.stream.write(line);
  }
  /** Bytes handed to write() and not yet written. */
  get pending(): number {
    return this.stream?.writableLength ?? 0;
  }
  close(): Promise<void> {
    const s = this.stream;
    this.stream = undefined;
    return s ? new Promise((r) => s.end(() => r())) : Promise.resolve();
  }
}

/**
 * An endpoint as it may be shown in a message: scheme, host and path only. The query string and the user info
 * can carry credentials (tokens, basic auth), and messages go to stderr and log files.
 */
export function shownEndpoint(endpoint: string | URL): string {
  try {
    const u = new URL(String(endpoint));
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid url)';
  }
}

export interface PosterOptions {
  timeoutMs: number;
  /** Several entries per request, sent as one JSON array. */
  batched: boolean;
  method?: 'POST' | 'PUT' | 'PATCH';
  contentType?: string;
  headers?: Record<string, string>;
}

/**
 * Sends batches of JSON entries to an endpoint, as Kong's http-log does (kong/plugins/http-log/handler.lua):
 * credentials in the URL become an Authorization header (Basic) and leave the URL; resolves true on 2xx, throws
 * otherwise, naming the endpoint without query or credentials. The endpoint is operator configuration, never
 * request data. Shared by the sink and the local gateway's http-log.
 */
export function httpPoster(endpoint: string, opts: PosterOptions): (batch: string[]) => Promise<boolean> {
  const u = new URL(endpoint);
  const headers: Record<string, string> = { ...opts.headers };
  if (u.username !== '' || u.password !== '') {
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
    u.username = '';
    u.password = '';
  }
  headers['content-type'] = opts.contentType ?? 'application/json';
  const url = u.toString();
  const shown = shownEndpoint(u);
  const method = opts.method ?? 'POST';
  return async (batch) => {
    const body = opts.batched ? `[${batch.join(',')}]` : (batch[0] as string);
    const res = await request(url, { method, headers, body, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs });
    await res.body.dump();
    if (res.statusCode >= 200 && res.statusCode < 300) return true;
    throw new Error(`${shown} answered ${res.statusCode}`);
  };
}

/** The sink the environment asks for, or undefined when neither file nor endpoint is set. */
export function sinkFromEnv(env: NodeJS.ProcessEnv = process.env): LogSink | undefined {
  const file = env.AI_PROXY_ADVANCED_LOG_FILE?.trim();
  const endpoint = env.AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT?.trim();
  if (!file && !endpoint) return undefined;
  const scopeRaw = env.AI_PROXY_ADVANCED_LOG_REQUESTS?.trim() || 'streamed';
  if (scopeRaw !== 'streamed' && scopeRaw !== 'all') throw new ConfigError(`AI_PROXY_ADVANCED_LOG_REQUESTS must be 'streamed' or 'all', got '${scopeRaw}'`);
  let queue: LogQueue<string> | undefined;
  if (endpoint) {
    let u: URL;
    try {
      u = new URL(endpoint);
    } catch {
      throw new ConfigError(`AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT must be an http(s) URL, got '${endpoint}'`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT must be an http(s) URL, got '${u.protocol}'`);
    const batch = positiveInt(env, 'AI_PROXY_ADVANCED_LOG_HTTP_BATCH_SIZE', 1, 10_000);
    const timeout = positiveInt(env, 'AI_PROXY_ADVANCED_LOG_HTTP_TIMEOUT_MS', 10_000, 600_000);
    queue = new LogQueue<string>(
      `ai-proxy-advanced sink ${shownEndpoint(u)}`,
      { ...KONG_QUEUE_DEFAULTS, max_batch_size: batch },
      httpPoster(endpoint, { timeoutMs: timeout, batched: batch > 1 }),
      realQueueDeps(stderr),
    );
  }
  const fileSink = file ? new AppendFile(file, (err) => stderr(`cannot write ${file}: ${err.message}`)) : undefined;
  return {
    scope: scopeRaw,
    write(entry) {
      const json = JSON.stringify(entry);
      fileSink?.write(`${json}\n`);
      queue?.enqueue(json);
    },
    async close(waitMs) {
      await Promise.all([fileSink?.close(), queue?.close(waitMs)]);
    },
  };
}
