/**
 * kong.response.* (kong/pdk/response.lua) and Kong's error responses (kong/tools/http.lua error templates,
 * response.lua HTTP_ERROR_MESSAGES). `exit` and `error` end the handler: the PDK returns EXIT so the RPC
 * loop sends no Step, as Kong's coroutine.yield()/ngx.exit never resumes the plugin.
 */
import { EXIT } from '../../rpc';
import { HeaderMap, type RequestContext } from '../proxy/context';
import { checkPhase, LuaError, PHASES } from './phase-check';
import { cjsonEncode, headerTable, headerValues, luaType } from './values';

const HTTP_ERROR_MESSAGES: Readonly<Record<number, string>> = {
  400: 'Bad request', 401: 'Unauthorized', 402: 'Payment required', 403: 'Forbidden', 404: 'Not found',
  405: 'Method not allowed', 406: 'Not acceptable', 407: 'Proxy authentication required', 408: 'Request timeout',
  409: 'Conflict', 410: 'Gone', 411: 'Length required', 412: 'Precondition failed', 413: 'Payload too large',
  414: 'URI too long', 415: 'Unsupported media type', 416: 'Range not satisfiable', 417: 'Expectation failed',
  418: "I'm a teapot", 421: 'Misdirected request', 422: 'Unprocessable entity', 423: 'Locked',
  424: 'Failed dependency', 425: 'Too early', 426: 'Upgrade required', 428: 'Precondition required',
  429: 'Too many requests', 431: 'Request header fields too large', 451: 'Unavailable for legal reasons',
  494: 'Request header or cookie too large', 500: 'An unexpected error occurred', 501: 'Not implemented',
  502: 'An invalid response was received from the upstream server',
  503: 'The upstream server is currently unavailable', 504: 'The upstream server is timing out',
  505: 'HTTP version not supported', 506: 'Variant also negotiates', 507: 'Insufficient storage',
  508: 'Loop detected', 510: 'Not extended', 511: 'Network authentication required',
};

export function httpErrorMessage(status: number): string {
  return HTTP_ERROR_MESSAGES[status] ?? `The upstream server responded with ${status}`;
}

/** tools/http.lua get_response_type: pick the error format from Accept (json unless html/xml/plain asked). */
function responseType(accept: string | undefined): string {
  const a = (accept ?? '').toLowerCase();
  for (const part of a.split(',')) {
    const t = part.split(';')[0]?.trim() ?? '';
    if (t === 'application/json' || t === 'application/*') return 'application/json; charset=utf-8';
    if (t === 'text/html') return 'text/html; charset=utf-8';
    if (t === 'application/xml') return 'application/xml; charset=utf-8';
    if (t === 'text/plain' || t === 'text/*') return 'text/plain; charset=utf-8';
  }
  return 'application/json; charset=utf-8';
}

/** The body kong.response.error produces for a content type (tools/http.lua ERROR_TEMPLATES). */
export function errorBody(contentType: string, message: string, requestId: string): string {
  if (contentType.startsWith('text/html'))
    return `<!doctype html>\n<html>\n  <head>\n    <meta charset="utf-8">\n    <title>Error</title>\n  </head>\n  <body>\n    <h1>Error</h1>\n    <p>${message}.</p>\n    <p>request_id: ${requestId}</p>\n  </body>\n</html>\n`;
  if (contentType.startsWith('application/xml'))
    return `<?xml version="1.0" encoding="UTF-8"?>\n<error>\n  <message>${message}</message>\n  <requestid>${requestId}</requestid>\n</error>\n`;
  if (contentType.startsWith('text/plain')) return `${message}\nrequest_id: ${requestId}\n`;
  return `{\n  "message":"${message.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}",\n  "request_id":"${requestId}"\n}`;
}

/** kong.response.error as the gateway itself uses it (404 no route, 500, 502, …). */
export function kongError(ctx: RequestContext, status: number, message?: string, headers?: HeaderMap): void {
  const h = headers ?? new HeaderMap();
  const ct = h.first('content-type') ?? responseType(ctx.requestHeaders.first('accept'));
  h.set('Content-Type', [ct]);
  ctx.delayed = { status, body: Buffer.from(errorBody(ct, message ?? httpErrorMessage(status), ctx.id)), headers: h };
  ctx.source = ctx.source ?? 'exit';
}

function checkStatus(status: unknown, min: number): number {
  if (typeof status !== 'number') throw new LuaError('code must be a number');
  if (status < min || status > 599) throw new LuaError(`code must be a number between ${min} and 599`);
  return status;
}

function exit(ctx: RequestContext, args: unknown[]): typeof EXIT {
  checkPhase(ctx.phase, PHASES.responseWrite);
  const status = checkStatus(args[0], 100);
  const body = args[1];
  if (body !== undefined && body !== null && typeof body !== 'string' && typeof body !== 'object')
    throw new LuaError('body must be a nil, string or table');
  const extra = headerTable(args[2]);
  // Most exits come before any set_header: the exit's own headers are then the response's, no copy needed.
  let headers = extra;
  if (ctx.response.headers.size > 0) {
    headers = ctx.response.headers.clone();
    for (const [k, v] of extra.entries()) headers.set(k, v);
  }
  let buf: Buffer = Buffer.alloc(0);
  if (typeof body === 'string') buf = Buffer.from(body, 'utf8');
  else if (Buffer.isBuffer(body)) buf = body;
  else if (body !== undefined && body !== null) {
    buf = Buffer.from(cjsonEncode(body), 'utf8');
    if (!headers.has('content-type')) headers.set('Content-Type', ['application/json; charset=utf-8']);
  }
  ctx.delayed = { status, body: buf, headers };
  ctx.source = 'exit';
  return EXIT;
}

function error(ctx: RequestContext, args: unknown[]): typeof EXIT {
  checkPhase(ctx.phase, PHASES.responseWrite);
  const status = checkStatus(args[0], 400);
  let message = args[1];
  if (message !== undefined && message !== null && typeof message === 'object' && !Buffer.isBuffer(message)) message = cjsonEncode(message);
  if (Buffer.isBuffer(message)) message = message.toString('utf8');
  if (message !== undefined && message !== null && typeof message !== 'string') throw new LuaError('message must be a nil, a string or a table');
  const headers = ctx.response.headers.clone();
  for (const [k, v] of headerTable(args[2]).entries()) headers.set(k, v);
  kongError(ctx, status, (message as string | undefined) ?? undefined, headers);
  ctx.source = 'exit';
  return EXIT;
}

/** The response as seen so far: what was sent (log), or the buffered/plugin-set status and headers. */
function currentStatus(ctx: RequestContext): number {
  if (ctx.phase === 'log') return ctx.saved?.responseStatus ?? 0;
  return ctx.response.status ?? ctx.serviceResponse?.status ?? ctx.delayed?.status ?? 200;
}

function currentHeaders(ctx: RequestContext): Record<string, string | string[]> {
  if (ctx.phase === 'log') return ctx.saved?.responseHeaders ?? {};
  return ctx.response.headers.toLua();
}

function firstOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export const RESPONSE_PDK: Record<string, (ctx: RequestContext, args: unknown[]) => unknown> = {
  'kong.response.exit': exit,
  'kong.response.error': error,
  'kong.response.get_status': (ctx) => {
    checkPhase(ctx.phase, PHASES.responseRead);
    return currentStatus(ctx);
  },
  'kong.response.get_header': (ctx, [name]) => {
    checkPhase(ctx.phase, PHASES.responseRead);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    return firstOf(currentHeaders(ctx)[name.toLowerCase()]);
  },
  'kong.response.get_headers': (ctx, [max]) => {
    checkPhase(ctx.phase, PHASES.responseRead);
    if (max !== undefined && typeof max !== 'number') throw new LuaError('max_headers must be a number');
    return currentHeaders(ctx);
  },
  'kong.response.get_source': (ctx) => {
    if (ctx.source === 'exit' || ctx.delayed) return 'exit';
    if (ctx.source === 'service' || ctx.serviceResponse) return 'service';
    return 'error';
  },
  'kong.response.set_status': (ctx, [status]) => {
    checkPhase(ctx.phase, PHASES.responseWrite);
    ctx.response.status = checkStatus(status, 100);
    return undefined;
  },
  'kong.response.set_header': (ctx, [name, value]) => {
    checkPhase(ctx.phase, PHASES.responseWrite);
    ctx.response.headers.set(name as string, headerValues(name, value));
    return undefined;
  },
  'kong.response.add_header': (ctx, [name, value]) => {
    checkPhase(ctx.phase, PHASES.responseWrite);
    ctx.response.headers.add(name as string, headerValues(name, value));
    return undefined;
  },
  'kong.response.clear_header': (ctx, [name]) => {
    checkPhase(ctx.phase, PHASES.responseWrite);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    ctx.response.headers.delete(name);
    return undefined;
  },
  'kong.response.set_headers': (ctx, [headers]) => {
    checkPhase(ctx.phase, PHASES.responseWrite);
    if (headers === null || headers === undefined || typeof headers !== 'object') throw new LuaError(`headers must be a table, got ${luaType(headers)}`);
    for (const [k, v] of headerTable(headers).entries()) ctx.response.headers.set(k, v);
    return undefined;
  },
  'kong.response.get_raw_body': (ctx) => {
    checkPhase(ctx.phase, PHASES.bodyFilter);
    return undefined;
  },
  'kong.response.set_raw_body': (ctx) => {
    checkPhase(ctx.phase, PHASES.bodyFilter);
    return undefined;
  },
};
