/**
 * A local OpenAI-style upstream for engine tests: answers like api.openai.com (Kong's fixtures), and on demand
 * slowly, with a chosen status, never (hang), by resetting the connection, or with bytes that are not HTTP.
 * Records every request it receives.
 */
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  json: Record<string, unknown> | undefined;
}

export type Behaviour =
  | { kind: 'json'; status?: number; body?: unknown; headers?: Record<string, string>; delayMs?: number; gzip?: boolean }
  | { kind: 'raw'; status: number; body: string; headers?: Record<string, string>; delayMs?: number }
  /**
   * A provider stream: `frames` written as given (SSE `data: ...\n\n`, NDJSON lines, ...), `gapMs` apart. `resetAfter`:
   * the connection is reset (TCP RST) once the head and the frames are out, instead of ending the stream.
   */
  | { kind: 'stream'; frames: (string | Buffer)[]; contentType?: string; gapMs?: number; status?: number; headers?: Record<string, string>; hangAfter?: boolean; resetAfter?: boolean }
  | { kind: 'hang' }
  | { kind: 'reset' }
  | { kind: 'garbage' };

export type BehaviourFn = (req: RecordedRequest) => Behaviour;

/** An OpenAI chat stream (chat.completion.chunk SSE frames) saying `words`, with a usage frame, then [DONE]. */
export function openAiChatStream(model: string, words: string[]): string[] {
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
    `data: ${JSON.stringify({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1701947430, model, choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;
  return [
    chunk({ role: 'assistant', content: '' }),
    ...words.map((w) => chunk({ content: w })),
    `data: ${JSON.stringify({ id: 'chatcmpl-s1', object: 'chat.completion.chunk', created: 1701947430, model, choices: [], usage: { prompt_tokens: 9, completion_tokens: words.length, total_tokens: 9 + words.length } })}\n\n`,
    'data: [DONE]\n\n',
  ];
}

/** The chat answer of Kong's fixture openai/llm-v1-chat/responses/good.json, echoing the requested model. */
export function chatCompletion(model: string, usage = { prompt_tokens: 25, completion_tokens: 12, total_tokens: 37 }): Record<string, unknown> {
  return {
    choices: [{ finish_reason: 'stop', index: 0, message: { content: 'The sum of 1 + 1 is 2.', role: 'assistant' } }],
    created: 1701947430,
    id: 'chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2',
    model,
    object: 'chat.completion',
    system_fingerprint: null,
    usage,
  };
}

export const defaultBehaviour: BehaviourFn = (req) => {
  const model = typeof req.json?.model === 'string' ? req.json.model : 'unknown';
  if (req.url.startsWith('/v1/embeddings')) {
    return { kind: 'json', body: { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, 0.2] }], model, usage: { prompt_tokens: 8, total_tokens: 8 } } };
  }
  if (req.url.startsWith('/v1/completions')) {
    return {
      kind: 'json',
      body: { id: 'cmpl-1', object: 'text_completion', model, choices: [{ text: '\n\nI am a language model', index: 0, finish_reason: 'length' }], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } },
    };
  }
  return { kind: 'json', body: chatCompletion(model) };
};

export class EngineUpstream {
  readonly requests: RecordedRequest[] = [];
  behaviour: BehaviourFn;
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly server: http.Server,
    behaviour: BehaviourFn,
  ) {
    this.behaviour = behaviour;
  }

  static async start(behaviour: BehaviourFn = defaultBehaviour): Promise<EngineUpstream> {
    const server = http.createServer();
    const up = new EngineUpstream(server, behaviour);
    server.keepAliveTimeout = 60_000;
    server.on('connection', (s) => {
      up.sockets.add(s);
      s.on('close', () => up.sockets.delete(s));
    });
    server.on('request', (req, res) => up.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return up;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  set(b: Behaviour | BehaviourFn): void {
    this.behaviour = typeof b === 'function' ? b : () => b;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      const rec: RecordedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, json };
      this.requests.push(rec);
      const b = this.behaviour(rec);
      if (b.kind === 'hang') return;
      if (b.kind === 'reset') {
        req.socket.resetAndDestroy();
        return;
      }
      if (b.kind === 'garbage') {
        // A status line followed by a malformed header: the client's parser fails before the socket closes.
        const sock = req.socket;
        sock.write('HTTP/1.1 200 OK\r\nthis is not a header\r\n\r\n');
        setTimeout(() => sock.destroy(), 50);
        return;
      }
      if (b.kind === 'stream') {
        res.writeHead(b.status ?? 200, { 'content-type': b.contentType ?? 'text/event-stream', ...b.headers });
        res.flushHeaders();
        const frames = [...b.frames];
        const next = (): void => {
          const f = frames.shift();
          if (f === undefined) {
            // Let what was written reach the socket, then cut it as a crashing provider would.
            if (b.resetAfter) {
              setImmediate(() => req.socket.resetAndDestroy());
              return;
            }
            // hangAfter: the provider goes silent with the stream still open.
            if (!b.hangAfter) res.end();
            return;
          }
          res.write(f);
          if (b.gapMs) setTimeout(next, b.gapMs);
          else next();
        };
        next();
        return;
      }
      const send = (): void => {
        const text = b.kind === 'json' ? JSON.stringify(b.body ?? {}) : b.body;
        const ct = b.kind === 'json' ? 'application/json' : 'text/html';
        if (b.kind === 'json' && b.gzip) {
          res.writeHead(b.status ?? 200, { 'content-type': ct, 'content-encoding': 'gzip', ...b.headers });
          res.end(gzipSync(text));
          return;
        }
        res.writeHead(b.status ?? 200, { 'content-type': ct, ...b.headers });
        res.end(text);
      };
      if (b.delayMs) setTimeout(send, b.delayMs);
      else send();
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.server.close();
    await once(this.server, 'close');
  }
}

/** A 127.0.0.1 URL where nothing listens (connection refused). */
export async function refusedUrl(): Promise<string> {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const port = (srv.address() as AddressInfo).port;
  srv.close();
  await once(srv, 'close');
  return `http://127.0.0.1:${port}`;
}
