/**
 * A local server speaking the OpenAI API's other endpoints as the API reference shapes them (responses,
 * files, batches, assistants/threads, audio, images, videos), at OpenAI's paths (`/v1/...`) and Azure's
 * (`/openai/...`, `/openai/deployments/{id}/...`). Records every request with its raw bytes (uploads are
 * binary) so tests can compare what the provider received with what the client sent.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ApiRequest {
  method: string;
  url: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  raw: Buffer;
  json: Record<string, unknown> | undefined;
}

export const SPEECH_BYTES = Buffer.from([0xff, 0xf3, 0x44, 0xc4, 0x00, 0x00, 0x00, 0x03, 0x48, 0x00, 0x00, 0x00, 0x00, 0x4c, 0x41, 0x4d, 0x45]);
export const FILE_CONTENT = '{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{}}\n';

/** A Responses API response object (API reference "The response object"). */
export function responseObject(model: string, text = 'Hello there!'): Record<string, unknown> {
  return {
    id: 'resp_67ccd2bed1ec8190b14f964abc054267',
    object: 'response',
    created_at: 1741476542,
    status: 'completed',
    model,
    output: [
      {
        type: 'message',
        id: 'msg_67ccd2bf17f0819081ff3bb2cf6508e6',
        status: 'completed',
        role: 'assistant',
        content: [{ type: 'output_text', text, annotations: [] }],
      },
    ],
    parallel_tool_calls: true,
    usage: { input_tokens: 36, input_tokens_details: { cached_tokens: 0 }, output_tokens: 87, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 123 },
  };
}

/** A streamed Responses API answer: typed events, text in deltas, usage in response.completed, no [DONE]. */
export function responseEvents(model: string, words: string[]): string[] {
  const base = responseObject(model, words.join(''));
  const ev = (type: string, data: Record<string, unknown>, seq: number): string => `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq, ...data })}\n\n`;
  const inProgress = { ...base, status: 'in_progress', output: [], usage: null };
  const out = [ev('response.created', { response: inProgress }, 0), ev('response.in_progress', { response: inProgress }, 1)];
  words.forEach((w, i) => out.push(ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: w }, 2 + i)));
  out.push(ev('response.completed', { response: base }, 2 + words.length));
  return out;
}

export class OpenAiApiUpstream {
  readonly requests: ApiRequest[] = [];
  /** Answer every request with this status and an OpenAI error body (failover tests). */
  failWith: number | undefined;

  private constructor(private readonly server: http.Server) {}

  static async start(): Promise<OpenAiApiUpstream> {
    const server = http.createServer();
    const up = new OpenAiApiUpstream(server);
    server.on('request', (req, res) => up.handle(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return up;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      let json: Record<string, unknown> | undefined;
      if (/json/.test(req.headers['content-type'] ?? '')) {
        try {
          json = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
      }
      const url = req.url ?? '/';
      const path = url.split('?')[0] as string;
      const r: ApiRequest = { method: req.method ?? '', url, path, headers: req.headers, raw, json };
      this.requests.push(r);
      const send = (status: number, body: unknown, type = 'application/json'): void => {
        const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
        res.writeHead(status, { 'content-type': type, 'x-request-id': 'req_sim' });
        res.end(bytes);
      };
      if (this.failWith !== undefined) return send(this.failWith, { error: { message: 'The server had an error', type: 'server_error' } });
      this.answer(r, send, res);
    });
  }

  private answer(r: ApiRequest, send: (status: number, body: unknown, type?: string) => void, res: http.ServerResponse): void {
    // Azure puts the same resources under /openai and /openai/deployments/{id}: answer both by their tail.
    const p = r.path.replace(/^\/openai\/deployments\/[^/]+/, '').replace(/^\/openai(\/v1)?/, '').replace(/^\/v1/, '');
    const model = typeof r.json?.model === 'string' ? r.json.model : 'unknown';
    const m = r.method;
    if (p === '/responses' && m === 'POST') {
      if (r.json?.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        for (const e of responseEvents(model, ['Hello', ' there', '!'])) res.write(e);
        res.end();
        return;
      }
      return send(200, responseObject(model));
    }
    let match: RegExpExecArray | null;
    if ((match = /^\/responses\/([^/]+)$/.exec(p))) {
      if (m === 'DELETE') return send(200, { id: match[1], object: 'response.deleted', deleted: true });
      return send(200, { ...responseObject('gpt-4o'), id: match[1] });
    }
    if (p === '/files' && m === 'POST') {
      return send(200, { id: 'file-abc123', object: 'file', bytes: r.raw.length, created_at: 1677610602, filename: 'batch.jsonl', purpose: 'batch' });
    }
    if (p === '/files' && m === 'GET') return send(200, { object: 'list', data: [{ id: 'file-abc123', object: 'file', bytes: 140, filename: 'batch.jsonl', purpose: 'batch' }] });
    if ((match = /^\/files\/([^/]+)\/content$/.exec(p))) return send(200, FILE_CONTENT, 'application/octet-stream');
    if ((match = /^\/files\/([^/]+)$/.exec(p))) {
      if (m === 'DELETE') return send(200, { id: decodeURIComponent(match[1] as string), object: 'file', deleted: true });
      return send(200, { id: decodeURIComponent(match[1] as string), object: 'file', bytes: 140, filename: 'batch.jsonl', purpose: 'batch' });
    }
    if (p === '/batches' && m === 'POST') return send(200, { id: 'batch_abc123', object: 'batch', endpoint: r.json?.endpoint, input_file_id: r.json?.input_file_id, status: 'validating' });
    if ((match = /^\/batches\/([^/]+)(\/cancel)?$/.exec(p))) return send(200, { id: match[1], object: 'batch', status: match[2] ? 'cancelling' : 'completed' });
    if (p === '/assistants' && m === 'POST') return send(200, { id: 'asst_abc123', object: 'assistant', model, instructions: r.json?.instructions ?? null, tools: [] });
    if (p === '/threads' && m === 'POST') return send(200, { id: 'thread_abc123', object: 'thread', created_at: 1699012949, metadata: {} });
    if ((match = /^\/threads\/([^/]+)\/runs$/.exec(p))) return send(200, { id: 'run_abc123', object: 'thread.run', thread_id: match[1], status: 'queued' });
    if (p === '/audio/speech') return send(200, SPEECH_BYTES, 'audio/mpeg');
    if (p === '/audio/transcriptions' || p === '/audio/translations') {
      return send(200, { text: 'Imagine the wildest idea that you have ever had.', usage: { type: 'tokens', input_tokens: 14, output_tokens: 45, total_tokens: 59 } });
    }
    if (p === '/images/generations' || p === '/images/edits') {
      return send(200, { created: 1713833628, data: [{ b64_json: 'iVBORw0KGgo=' }], usage: { total_tokens: 100, input_tokens: 50, output_tokens: 50 } });
    }
    if (p === '/videos' && m === 'POST') return send(200, { id: 'video_123', object: 'video', model, status: 'queued', progress: 0 });
    if ((match = /^\/videos\/([^/]+)$/.exec(p))) return send(200, { id: match[1], object: 'video', status: 'completed', progress: 100 });
    send(404, { error: { message: `Invalid URL (${m} ${r.path})`, type: 'invalid_request_error' } });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
