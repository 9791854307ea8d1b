/**
 * Which web pages may drive the Admin API. Kong (kong/api/api_helpers.lua cors_filter) only sets CORS headers
 * (the request Origin, or the first admin_gui_url origin) and still runs a cross-site form POST; with Kong's
 * 415 for text/plain that leaves form-urlencoded and multipart writes open to any page a browser has open
 * (issue 11: a page replaced the whole config). Here a write (anything but GET, HEAD and OPTIONS) that carries
 * an `Origin` is refused with 403 unless that origin is one of admin_gui_url's (conf_loader: scheme://authority
 * of each URL, `admin_gui_origin`), and so is a read (GET, HEAD) with such an Origin. Tools such as decK and curl
 * send no Origin and are unaffected. CORS headers are sent only to an allowed origin; never `*`. Before any of
 * that, the Host header must name the Admin API itself (hostAllowed: DNS rebinding), else 421.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import type { Settings } from '../settings';

type HostSettings = Pick<Settings, 'adminGuiOrigins' | 'adminListen' | 'adminAllowedHosts'>;
type Refusal = { status: number; body: unknown };

/** The host part of a Host header (`name`, `name:port`, `[v6]`, `[v6]:port`), lower-cased, without a trailing dot. */
export function hostName(header: string): string | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+)(?::\d{1,5})?$/.exec(header.trim());
  if (m === null) return undefined;
  const name = (m[1] as string).toLowerCase();
  return name.endsWith('.') && !name.startsWith('[') ? name.slice(0, -1) : name;
}

/** An IP literal as a Host header writes it: `127.0.0.1`, `[::1]`. */
function ipLiteral(name: string): boolean {
  return name.startsWith('[') ? isIP(name.slice(1, -1)) === 6 : isIP(name) === 4;
}

function loopback(name: string): boolean {
  if (name === 'localhost' || name.endsWith('.localhost') || name === '[::1]') return true;
  return isIP(name) === 4 && name.startsWith('127.');
}

/**
 * The Host names the Admin API answers to (DNS rebinding: a page whose name is made to resolve to 127.0.0.1
 * talks to the Admin API "same-origin" from the browser's view, Origin checks see nothing, and GET /config would
 * hand it every provider key). Allowed: loopback names and addresses, the host of each admin_listen entry (any
 * IP literal when one listens on every interface: 0.0.0.0 or ::), the host of each admin_gui_url, and the names
 * in admin_allowed_hosts (ours, not Kong's: for operators who reach the Admin API by a DNS name) with admin_gui_api_url's host
 * (settings.ts adds it there). A request
 * without a Host (HTTP/1.0) is let through: a browser always sends one.
 */
export function hostAllowed(settings: HostSettings, host: string | undefined): boolean {
  if (host === undefined) return true;
  const name = hostName(host);
  if (name === undefined) return false;
  if (loopback(name) || settings.adminAllowedHosts.includes(name)) return true;
  for (const l of settings.adminListen) {
    const h = l.host.toLowerCase();
    if (h === '0.0.0.0' || h === '::') {
      if (ipLiteral(name)) return true;
    } else if ((isIP(h) === 6 ? `[${h}]` : h) === name) return true;
  }
  return settings.adminGuiOrigins.some((o) => hostName(new URL(o).host) === name);
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function allowedOrigin(settings: Pick<Settings, 'adminGuiOrigins'>, req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  return settings.adminGuiOrigins.includes(origin.toLowerCase()) ? origin : undefined;
}

export function originRefusal(settings: HostSettings, req: IncomingMessage): Refusal | undefined {
  if (!hostAllowed(settings, req.headers.host)) {
    return { status: 421, body: { message: 'Host not allowed: the Admin API answers to loopback names, the admin_listen, admin_gui_url and admin_gui_api_url hosts, and those in admin_allowed_hosts' } };
  }
  if (req.headers.origin === undefined) return undefined;
  if (allowedOrigin(settings, req) !== undefined) return undefined;
  // A preflight from another origin gets no CORS headers (corsHeaders) and so no permission; reads from a page
  // of another origin are refused too, not only left unreadable by CORS.
  if (req.method === 'OPTIONS') return undefined;
  if (SAFE.has(req.method ?? 'GET')) return { status: 403, body: { message: 'Origin not allowed: set admin_gui_url to let a web page read the configuration' } };
  return { status: 403, body: { message: 'Origin not allowed: set admin_gui_url to let a web page change the configuration' } };
}

export function corsHeaders(settings: Pick<Settings, 'adminGuiOrigins'>, req: IncomingMessage): Record<string, string> {
  const origin = allowedOrigin(settings, req);
  if (origin === undefined) return req.headers.origin === undefined ? {} : { Vary: 'Origin' };
  const h: Record<string, string> = { 'Access-Control-Allow-Origin': origin, 'Access-Control-Allow-Credentials': 'true', Vary: 'Origin' };
  if (req.method === 'OPTIONS') {
    h['Access-Control-Allow-Methods'] = 'GET, HEAD, PUT, PATCH, POST, DELETE, OPTIONS';
    const asked = req.headers['access-control-request-headers'];
    if (asked !== undefined) h['Access-Control-Allow-Headers'] = asked;
  }
  return h;
}
