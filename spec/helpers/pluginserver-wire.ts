/**
 * Wire-level helpers for the plugin-server conformance tests: a fake Kong PDK for runEvent that records every
 * call, a raw socket exchange for byte-level framing tests, and normalisation of volatile reply fields.
 */
import net from 'node:net';
import { EXIT } from '../../kong/rpc/event';
import { createStreamDecoder, encodeLua } from '../../kong/rpc/lua-msgpack';

export interface FakeKong {
  calls: [string, unknown[]][];
  pdk: (method: string, args: unknown[]) => unknown;
}

/** A Kong PDK stand-in answering like Kong would for one request; exit/error end the handler (EXIT). */
export function fakeKong(headers: Record<string, string>): FakeKong {
  const calls: [string, unknown[]][] = [];
  const answers: Record<string, (args: unknown[]) => unknown> = {
    'kong.request.get_header': (a) => headers[String(a[0]).toLowerCase()],
    'kong.request.get_path': () => '/v1/chat/completions',
    'kong.request.get_method': () => 'POST',
    'kong.request.get_headers': () => ({ ...headers, 'x-multi': ['a', 'b'], 'x-flag': true }),
    'kong.request.get_query': () => ({}),
    'kong.request.get_raw_body': () => Buffer.from([0xff, 0x00, 0xcf]),
    'kong.log.serialize': () => '{"request":{"method":"POST"}}',
    'kong.response.exit': () => EXIT,
    'kong.response.error': () => EXIT,
  };
  return {
    calls,
    pdk: (method, args) => {
      calls.push([method, args]);
      return answers[method]?.(args);
    },
  };
}

export interface RawExchange {
  replies: unknown[];
  closed: boolean;
}

/**
 * Writes `chunks` to a fresh connection (pausing `gapMs` between them) and collects decoded replies until
 * `want` arrived, the peer closed, or `timeoutMs` passed.
 */
export function rawExchange(
  socketPath: string,
  chunks: Buffer[],
  want: number,
  opts: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawExchange> {
  return new Promise((resolve) => {
    const replies: unknown[] = [];
    let closed = false;
    const s = net.createConnection(socketPath);
    const finish = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ replies, closed });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 3000);
    const d = createStreamDecoder((m) => {
      replies.push(m);
      if (replies.length >= want) finish();
    });
    s.on('data', (c: Buffer) => d.push(c));
    s.on('close', () => {
      closed = true;
      finish();
    });
    s.on('error', () => {
      closed = true;
    });
    s.once('connect', async () => {
      for (let i = 0; i < chunks.length; i++) {
        if (i > 0 && opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        if (!s.destroyed) s.write(chunks[i]!);
      }
    });
  });
}

export function request(msgId: number, method: string, ...params: unknown[]): Buffer {
  return encodeLua([0, msgId, method, params]);
}

/** Replaces wall-clock fields (StartTime, Modtime, LoadTime, Pid, ...) with their type, recursively. */
export function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object' && !Buffer.isBuffer(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, val] of Object.entries(v)) {
      out[k] = /^(StartTime|Modtime|LoadTime|LastStartInstance|LastCloseInstance|Pid)$/.test(k)
        ? `<${typeof val}>`
        : normalise(val);
    }
    return out;
  }
  return v;
}
