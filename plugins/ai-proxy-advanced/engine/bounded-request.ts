/**
 * A side call the plugin makes for itself (an OAuth token, an embeddings vector), with a deadline and a cap on
 * the answer: one implementation for every such call. Without them a token endpoint that never answers held
 * every request waiting for that token (the fetch is shared while in flight), and one that answers without end
 * grew the plugin server's memory.
 */
import { request } from 'undici';

export interface BoundedAnswer {
  status: number;
  body: Buffer;
}

export class AnswerTooLarge extends Error {
  constructor(max: number) {
    super(`answer larger than ${max} bytes`);
  }
}

export async function boundedRequest(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string | Buffer | undefined },
  timeoutMs: number,
  maxBytes: number,
): Promise<BoundedAnswer> {
  const res = await request(url, {
    method: init.method as 'POST',
    headers: init.headers,
    body: init.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    // The whole call, not only each wait: a peer that trickles bytes cannot stretch it.
    signal: AbortSignal.timeout(timeoutMs),
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res.body) {
    size += (c as Buffer).length;
    if (size > maxBytes) {
      res.body.destroy();
      throw new AnswerTooLarge(maxBytes);
    }
    chunks.push(c as Buffer);
  }
  return { status: res.statusCode, body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size) };
}

/** SignDeps.fetchJson over boundedRequest: the answer parsed as JSON when it is JSON, else its text. */
export function jsonFetcher(timeoutMs: number, maxBytes: number): (url: string, init: { method: string; headers: Record<string, string>; body?: string }) => Promise<{ status: number; body: unknown }> {
  return async (url, init) => {
    const res = await boundedRequest(url, init, timeoutMs, maxBytes);
    const text = res.body.toString('utf8');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the caller sees the text
    }
    return { status: res.status, body };
  };
}
