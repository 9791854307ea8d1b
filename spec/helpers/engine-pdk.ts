/**
 * A PDK object for unit-level tests of the plugin's access(): serves one client request the way Kong's RPC
 * bridge shapes values (header and query values as arrays, raw body as a Buffer) and enforces the protocol's
 * rules: no PDK call after `exit`, and no null/undefined argument before the last (kong-plugin-protocol.md §2.8).
 */
import type { EnginePdk } from '../../plugins/ai-proxy-advanced/engine/pdk';

export interface FakeClientRequest {
  body?: string | Buffer | unknown;
  headers?: Record<string, string | string[]>;
  path?: string;
  method?: string;
  uriCaptures?: Record<string, string>;
  /** What kong.client.get_consumer / get_consumer_groups / get_forwarded_ip return (acls). */
  consumer?: Record<string, unknown> | null;
  consumerGroups?: Array<Record<string, unknown>> | null;
  ip?: string;
  /** What kong.request.get_path returns (default: path without its query). */
  normalizedPath?: string;
  /** What kong.router.get_service returns (default: an http service). */
  service?: Record<string, unknown> | null;
}

export interface ExitCall {
  status: number;
  body: string;
  /** The body's exact bytes (a gzipped answer is not text). */
  bytes: Buffer;
  headers: Record<string, string>;
}

export class FakePdk implements EnginePdk {
  readonly calls: string[] = [];
  readonly serialized = new Map<string, unknown>();
  readonly logged: string[] = [];
  exited: ExitCall | undefined;
  /**
   * Where a streamed request pointed Kong's upstream (service.set_target / set_scheme / set_path). The scheme
   * starts as the service's protocol, as Kong's `upstream_scheme` does (kong/runloop/handler.lua).
   */
  readonly upstream: { host?: string; port?: number; scheme?: string; path?: string };
  private readonly req: FakeClientRequest;

  constructor(req: FakeClientRequest) {
    this.req = req;
    const protocol = this.service_().protocol;
    this.upstream = typeof protocol === 'string' ? { scheme: protocol } : {};
  }

  private service_(): Record<string, unknown> {
    return this.req.service === undefined ? { name: 'llm', protocol: 'http', host: '127.0.0.1', port: 9 } : (this.req.service ?? {});
  }

  private record(name: string, args: unknown[]): void {
    if (this.exited) throw new Error(`PDK call ${name} after kong.response.exit`);
    args.slice(0, -1).forEach((a, i) => {
      if (a === undefined || a === null) throw new Error(`PDK call ${name}: argument ${i} is ${String(a)} before the last argument`);
    });
    this.calls.push(name);
  }

  get json(): Record<string, unknown> {
    if (!this.exited) throw new Error('no exit');
    return JSON.parse(this.exited.body) as Record<string, unknown>;
  }

  request: EnginePdk['request'] = {
    getRawBody: async (...args) => {
      this.record('kong.request.get_raw_body', args);
      const b = this.req.body;
      if (b === undefined) return undefined;
      if (Buffer.isBuffer(b)) return b;
      return Buffer.from(typeof b === 'string' ? b : JSON.stringify(b));
    },
    getHeaders: async (...args) => {
      this.record('kong.request.get_headers', args);
      const h: Record<string, string[]> = { 'content-type': ['application/json'] };
      for (const [k, v] of Object.entries(this.req.headers ?? {})) h[k.toLowerCase()] = Array.isArray(v) ? v : [v];
      return h;
    },
    getPathWithQuery: async (...args) => {
      this.record('kong.request.get_path_with_query', args);
      return this.req.path ?? '/';
    },
    getMethod: async (...args) => {
      this.record('kong.request.get_method', args);
      return this.req.method ?? 'POST';
    },
    getPath: async (...args) => {
      this.record('kong.request.get_path', args);
      return this.req.normalizedPath ?? (this.req.path ?? '/').split('?')[0];
    },
    getUriCaptures: async (...args) => {
      this.record('kong.request.get_uri_captures', args);
      return { unnamed: [], named: this.req.uriCaptures ?? [] };
    },
  };

  client: EnginePdk['client'] = {
    getConsumer: async () => {
      this.record('kong.client.get_consumer', []);
      return this.req.consumer ?? undefined;
    },
    getConsumerGroups: async () => {
      this.record('kong.client.get_consumer_groups', []);
      return this.req.consumerGroups ?? undefined;
    },
    getForwardedIp: async () => {
      this.record('kong.client.get_forwarded_ip', []);
      return this.req.ip ?? '127.0.0.1';
    },
  };

  router: EnginePdk['router'] = {
    getService: async () => {
      this.record('kong.router.get_service', []);
      return this.req.service === null ? null : this.service_();
    },
  };

  service: EnginePdk['service'] = {
    setTarget: async (host, port) => {
      this.record('kong.service.set_target', [host, port]);
      this.upstream.host = host;
      this.upstream.port = port;
    },
    request: {
      setScheme: async (scheme) => {
        this.record('kong.service.request.set_scheme', [scheme]);
        this.upstream.scheme = scheme;
      },
      setPath: async (path) => {
        this.record('kong.service.request.set_path', [path]);
        this.upstream.path = path;
      },
    },
  };

  response: EnginePdk['response'] = {
    exit: async (status, body, headers) => {
      this.record('kong.response.exit', [status, body, headers]);
      if (typeof status !== 'number') throw new Error('exit status must be a number');
      const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : JSON.stringify(body);
      this.exited = { status, body: text, bytes: Buffer.isBuffer(body) ? body : Buffer.from(text, 'utf8'), headers };
    },
  };

  log: EnginePdk['log'] = {
    setSerializeValue: async (key, value) => {
      this.record('kong.log.set_serialize_value', [key, value]);
      this.serialized.set(key, JSON.parse(JSON.stringify(value)));
    },
    err: async (...message) => {
      this.record('kong.log.err', message);
      this.logged.push(message.map(String).join(''));
    },
  };
}
