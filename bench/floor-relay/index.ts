/**
 * The relay floor of `npm run bench -- stream` (issue 10, time to first chunk ≤ 1 ms). An external plugin has no
 * body_filter (kong-plugin-protocol.md), so ai-proxy-advanced relays a stream through its plugin server: that is
 * what carries failover before the first event, format translation and usage counting. Kong's upstream is set to
 * a relay in the plugin server, which calls the provider. This plugin is the least such a relay can be: it
 * relays the provider's bytes unchanged (no translation, no accounting, no failover), so whatever its time to
 * first chunk adds over bench/floor-plugin (Kong straight to the provider) is the price of relaying at all.
 *
 * `config.mode`:
 * - `ticket` (default): access makes a 128-bit single-use ticket naming the provider, then set_target(relay) and
 *   set_path(/<ticket>): three RPC round trips (HandleEvent, two Steps). The relay refuses any other path with
 *   404. This is the secure shape: the relay's port on loopback is reachable by every local process, and it
 *   holds the provider credentials.
 * - `early`: the same, plus get_raw_body in access and the provider call started right there, so the provider's
 *   time overlaps the rest of the access phase and Kong's connect to the relay: four round trips.
 * - `ticketless`: set_target only, to a relay port of the plugin instance's own that always calls the configured
 *   provider: two round trips, as the bare floor. INSECURE (an unauthenticated loopback proxy holding
 *   credentials, open to every local process); here only to show what the ticket costs.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

interface RelayConfig {
  host: string;
  port: number;
  /** The provider path (the bench's /ttfc/..., /ttfb/..., /burst/... chat endpoints). */
  path: string;
  mode?: 'ticket' | 'early' | 'ticketless';
}

interface RelayKong {
  service: { setTarget(host: string, port: number): Promise<void>; request: { setPath(path: string): Promise<void> } };
  request: { getRawBody(max?: number): Promise<unknown> };
}

/** What a ticket stands for: the provider to call, or (early) its answer already on the way. */
type Pending = { host: string; port: number; path: string; answer?: Promise<http.IncomingMessage> };

/** An unused ticket is dropped after this (Kong failed before connecting to the relay). */
const TICKET_TTL_MS = 30_000;

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const tickets = new Map<string, Pending>();

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'host', 'content-length']);

function forwardHeaders(h: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) if (!HOP_BY_HOP.has(k) && v !== undefined) out[k] = v;
  return out;
}

function callProvider(p: Pending, method: string, headers: http.OutgoingHttpHeaders, body: Buffer | http.IncomingMessage): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const up = http.request({ host: p.host, port: p.port, path: p.path, method, headers, agent }, resolve);
    up.on('error', reject);
    up.setNoDelay(true);
    if (Buffer.isBuffer(body)) up.end(body);
    else body.pipe(up);
  });
}

/** The provider's status, headers and bytes to Kong, each chunk written as it comes. */
function relayAnswer(answer: http.IncomingMessage, res: http.ServerResponse): void {
  res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
  res.flushHeaders();
  answer.pipe(res);
}

function fail(res: http.ServerResponse, status: number, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ message }));
}

function relayServer(handle: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<{ port: number; server: http.Server }> {
  const server = http.createServer({ noDelay: true, keepAliveTimeout: 60_000 }, handle);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as AddressInfo).port, server }));
  });
}

/** The process's ticket relay, started on first use. */
let shared: Promise<{ port: number; server: http.Server }> | undefined;
function ticketRelay(): Promise<{ port: number; server: http.Server }> {
  shared ??= relayServer((req, res) => {
    const ticket = (req.url ?? '').slice(1, 33);
    const p = tickets.get(ticket);
    if (p === undefined || req.url !== `/${ticket}`) {
      req.resume();
      return fail(res, 404, 'unknown ticket');
    }
    tickets.delete(ticket);
    const answer = p.answer ?? callProvider(p, req.method ?? 'POST', forwardHeaders(req.headers), req);
    if (p.answer) req.resume();
    answer.then((a) => relayAnswer(a, res), () => fail(res, 502, 'provider unreachable'));
  });
  // Said once, for spec/bench/floor-relay.test.ts (which checks that the relay refuses a request without a ticket).
  void shared.then(({ port }) => process.stderr.write(`floor-relay: ticket relay on 127.0.0.1:${port}\n`));
  return shared;
}

function issue(p: Pending): string {
  const ticket = randomBytes(16).toString('hex');
  tickets.set(ticket, p);
  setTimeout(() => tickets.delete(ticket), TICKET_TTL_MS).unref();
  return ticket;
}

export class Plugin {
  private readonly own: Promise<{ port: number; server: http.Server }> | undefined;

  constructor(private readonly config: RelayConfig) {
    if (config.mode === 'ticketless') {
      const target: Pending = { host: config.host, port: config.port, path: config.path };
      this.own = relayServer((req, res) => {
        // The configured provider and path, whatever asks: that is what makes it an open proxy.
        callProvider(target, req.method ?? 'POST', forwardHeaders(req.headers), req).then(
          (a) => relayAnswer(a, res),
          () => fail(res, 502, 'provider unreachable'),
        );
      });
    }
  }

  async access(kong: RelayKong): Promise<void> {
    const c = this.config;
    if (this.own !== undefined) {
      await kong.service.setTarget('127.0.0.1', (await this.own).port);
      return;
    }
    const relay = await ticketRelay();
    const p: Pending = { host: c.host, port: c.port, path: c.path };
    if (c.mode === 'early') {
      const raw = await kong.request.getRawBody();
      const body = Buffer.isBuffer(raw) ? raw : Buffer.from(String(raw ?? ''), 'latin1');
      p.answer = callProvider(p, 'POST', { 'content-type': 'application/json', 'content-length': String(body.length) }, body);
      // Kong may never come (a later phase fails): the answer must not be an unhandled rejection then.
      p.answer.catch(() => undefined);
    }
    await kong.service.setTarget('127.0.0.1', relay.port);
    await kong.service.request.setPath(`/${issue(p)}`);
  }
}

export const Name = 'floor-relay';
export const Version = '0.1.0';
export const Priority = 770;
export const Schema = [
  { host: { type: 'string', required: true } },
  { port: { type: 'integer', required: true } },
  { path: { type: 'string', required: true } },
  { mode: { type: 'string', default: 'ticket', one_of: ['ticket', 'early', 'ticketless'] } },
];
