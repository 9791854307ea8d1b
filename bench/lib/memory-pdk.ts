/**
 * The PDK the in-process benchmarks hand to access(): Kong's answers for a POST /v1/chat/completions from memory,
 * with no RPC. What a benchmark watches (the exit, where a stream is pointed) goes through the hooks.
 */
import type { EnginePdk } from '../../plugins/ai-proxy-advanced/engine/pdk';

export interface MemoryPdkOptions {
  body: Buffer;
  headers?: Record<string, string[]>;
  /** kong.response.exit (buffered answers and errors). */
  exit?: (status: number, body: unknown) => void;
  /** kong.service.set_target and kong.service.request.set_path (a streamed request's endpoint). */
  setTarget?: (host: string, port: number) => void;
  setPath?: (path: string) => void;
}

export function memoryPdk(o: MemoryPdkOptions): EnginePdk {
  const headers = o.headers ?? { 'content-type': ['application/json'] };
  return {
    request: {
      getRawBody: async () => o.body,
      getHeaders: async () => headers,
      getPathWithQuery: async () => '/v1/chat/completions',
      getMethod: async () => 'POST',
      getUriCaptures: async () => ({ named: {} }),
      getPath: async () => '/v1/chat/completions',
    },
    client: { getConsumer: async () => undefined, getConsumerGroups: async () => undefined, getForwardedIp: async () => '127.0.0.1' },
    response: {
      exit: async (status, body) => {
        o.exit?.(status, body);
      },
    },
    log: { setSerializeValue: async () => undefined, err: async () => undefined },
    router: { getService: async () => ({ protocol: 'http' }) },
    service: {
      setTarget: async (host, port) => {
        o.setTarget?.(host, port);
      },
      request: {
        setScheme: async () => undefined,
        setPath: async (path) => {
          o.setPath?.(path);
        },
      },
    },
  };
}
