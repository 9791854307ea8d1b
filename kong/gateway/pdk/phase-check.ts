/**
 * kong/pdk/private/phases.lua: the phase sets PDK functions accept and the exact error Kong raises
 * (`function cannot be called in <phase> phase (only in: …)`, names listed in Kong's bit order).
 */
import type { Phase } from '../proxy/context';

/** A Lua `error()` raised inside a PDK function: it unwinds the plugin handler (no Step is sent back). */
export class LuaError extends Error {
  override name = 'LuaError';
}

const BIT_ORDER = [
  'init_worker',
  'certificate',
  'client_hello',
  'rewrite',
  'access',
  'balancer',
  'response',
  'cluster_listener',
  'header_filter',
  'body_filter',
  'log',
  'preread',
  'error',
  'admin_api',
] as const;

export type PhaseSet = ReadonlySet<string>;

function set(...names: string[]): PhaseSet {
  return new Set(names);
}

export const PHASES = Object.freeze({
  /** PHASES.request */
  request: set('rewrite', 'access', 'balancer', 'response', 'header_filter', 'body_filter', 'log', 'error', 'admin_api'),
  /** kong/pdk/request.lua before_content */
  beforeContent: set('rewrite', 'access', 'response', 'error', 'admin_api'),
  /** kong/pdk/response.lua header_body_log */
  responseRead: set('response', 'header_filter', 'body_filter', 'log', 'error', 'admin_api'),
  /** kong/pdk/response.lua rewrite_access_header (3.8+ adds balancer) */
  responseWrite: set('rewrite', 'access', 'response', 'balancer', 'header_filter', 'error', 'admin_api'),
  /** kong.service.set_target (3.8+) */
  serviceTarget: set('rewrite', 'access', 'balancer', 'preread'),
  /** kong.service.set_upstream */
  access: set('access'),
  /** set_scheme / set_path / set_raw_body / set_header / enable_buffering (3.8+) */
  rewriteAccessBalancer: set('rewrite', 'access', 'balancer'),
  /** the other kong.service.request setters */
  rewriteAccess: set('rewrite', 'access'),
  /** kong/pdk/service/response.lua header_body_log */
  serviceResponse: set('response', 'header_filter', 'body_filter', 'log'),
  /** kong.log.serialize */
  log: set('log'),
  /** kong.log.set_serialize_value */
  setSerialize: set('rewrite', 'access', 'header_filter', 'response', 'body_filter', 'log'),
  /** kong.client.get_consumer, kong.router.* */
  afterAccess: set('access', 'header_filter', 'response', 'body_filter', 'log'),
  /** kong.response.get_raw_body / set_raw_body */
  bodyFilter: set('body_filter'),
  /** kong.client getters */
  client: set('rewrite', 'access', 'balancer', 'response', 'header_filter', 'body_filter', 'log', 'preread', 'error', 'admin_api'),
});

export function checkPhase(current: Phase, accepted: PhaseSet): void {
  if (accepted.has(current)) return;
  const names = BIT_ORDER.filter((p) => accepted.has(p));
  throw new LuaError(`function cannot be called in ${current} phase (only in: ${names.join(', ')})`);
}

/** In the log timer, ngx.var and ngx.req are unavailable (kong#8598): Kong's PDK raises this. */
export function checkNotTimer(current: Phase): void {
  if (current === 'log') throw new LuaError('API disabled in the context of ngx.timer');
}
