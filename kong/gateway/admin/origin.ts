/**
 * Which web pages may drive the Admin API. Kong (kong/api/api_helpers.lua cors_filter) only sets CORS headers
 * (the request Origin, or the first admin_gui_url origin) and still runs a cross-site form POST; with Kong's
 * 415 for text/plain that leaves form-urlencoded and multipart writes open to any page a browser has open
 * (issue 11: a page replaced the whole config). Here a write (anything but GET, HEAD and OPTIONS) that carries
 * an `Origin` is refused with 403 unless that origin is one of admin_gui_url's (conf_loader: scheme://authority
 * of each URL, `admin_gui_origin`). Tools such as decK and curl send no Origin and are unaffected. CORS headers
 * are sent only to an allowed origin; never `*`.
 */
import type { IncomingMessage } from 'node:http';
import type { Settings } from '../settings';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

function allowedOrigin(settings: Pick<Settings, 'adminGuiOrigins'>, req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  return settings.adminGuiOrigins.includes(origin.toLowerCase()) ? origin : undefined;
}

export function originRefusal(settings: Pick<Settings, 'adminGuiOrigins'>, req: IncomingMessage): { status: number; body: unknown } | undefined {
  if (SAFE.has(req.method ?? 'GET')) return undefined;
  if (req.headers.origin === undefined) return undefined;
  if (allowedOrigin(settings, req) !== undefined) return undefined;
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
