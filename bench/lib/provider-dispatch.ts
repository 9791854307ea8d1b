/**
 * The bench's provider call in its least form: undici's dispatch API on a shared Agent with the body and headers
 * engine/upstream.ts sends for the bench's chat request, no Readable. One definition for the two
 * floors that use it (bench/floor-call, in the plugin server; bench/lib/engine-alone.ts's undici-alone figure),
 * so they measure the same call. Every wait has a deadline (60 s, the engine's default read_timeout).
 */
import type { Agent, Dispatcher } from 'undici';

export const PROVIDER_HEADERS = { 'content-type': 'application/json', authorization: 'Bearer sk-bench', accept: '*/*', 'accept-encoding': 'identity' };

/** POSTs `body` to origin+path; `onData` sees each body chunk; resolves with the status at the end of the body. */
export function providerDispatch(agent: Agent, origin: string, path: string, body: Buffer, onData?: (chunk: Buffer) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    let status = 0;
    agent.dispatch(
      { origin, path, method: 'POST', headers: PROVIDER_HEADERS, body, headersTimeout: 60_000, bodyTimeout: 60_000 },
      {
        onRequestStart() {},
        onResponseStart(_c: Dispatcher.DispatchController, statusCode: number) {
          status = statusCode;
        },
        onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer) {
          if (onData) onData(chunk);
        },
        onResponseEnd: () => resolve(status),
        onResponseError: (_c: Dispatcher.DispatchController, e: Error) => reject(e),
      },
    );
  });
}
