/**
 * Kong's HandleEvent -> PDK call -> Step loop (`bridge_loop`, `call_pdk_method`, `must_fix` and
 * `get_step_method` in kong/runloop/plugin_servers/rpc/mp_rpc.lua; kong-plugin-protocol.md §2.6).
 * The caller supplies the PDK: a function that runs one Kong PDK method (`kong.request.get_header`, ...) with
 * the plugin's arguments and returns its first Lua return value, or `EXIT` when the method ended the Lua
 * handler (kong.response.exit / error in access, rewrite or response): Kong never resumes that coroutine, so
 * the loop stops there and never sends a Step. A PDK function that raises a Lua error should throw: the error
 * unwinds the handler in Kong too, and no Step is sent.
 */
import type { PluginServerClient } from './client';
import { checkPdkArgs, EMPTY_ARRAY, EMPTY_MAP } from './lua-msgpack';

/** Returned by the PDK callback when the call ended the handler (Kong yields out and never sends Step). */
export const EXIT: unique symbol = Symbol('kong.response.exit');

export interface PdkCall {
  Method: string;
  Args: unknown[];
}

/** What HandleEvent and every Step* reply with. */
export interface StepIn {
  Data: 'ret' | PdkCall;
  EventId: number;
}

export type PdkCallback = (method: string, args: unknown[]) => unknown;

const STEP_BY_METHOD: Readonly<Record<string, string>> = {
  'kong.client.get_credential': 'plugin.StepCredential',
  'kong.client.load_consumer': 'plugin.StepConsumer',
  'kong.client.get_consumer': 'plugin.StepConsumer',
  'kong.client.authenticate': 'plugin.StepCredential',
  'kong.node.get_memory_stats': 'plugin.StepMemoryStats',
  'kong.router.get_route': 'plugin.StepRoute',
  'kong.router.get_service': 'plugin.StepService',
  'kong.request.get_query': 'plugin.StepMultiMap',
  'kong.request.get_headers': 'plugin.StepMultiMap',
  'kong.response.get_headers': 'plugin.StepMultiMap',
  'kong.service.response.get_headers': 'plugin.StepMultiMap',
};

/** get_step_method: a table result's own `_method`, else the per-method table, else plugin.Step. */
export function getStepMethod(method: string, result: unknown): string {
  if (result !== null && typeof result === 'object' && !Array.isArray(result) && !(result instanceof Uint8Array)) {
    const own = (result as Record<string, unknown>)._method;
    if (typeof own === 'string' && own !== '') return own;
  }
  return STEP_BY_METHOD[method] ?? 'plugin.Step';
}

const MULTIMAP = new Set([
  'kong.request.get_query',
  'kong.request.get_headers',
  'kong.response.get_headers',
  'kong.service.response.get_headers',
]);
const RAW = new Set(['kong.request.get_raw_body', 'kong.response.get_raw_body', 'kong.service.response.get_raw_body']);

/**
 * must_fix: multimaps get every value as an array (`true` -> empty array, a string -> [string]) and an empty
 * multimap becomes an empty map; raw bodies travel as bin. Kong fails on a nil in both cases, and so does this.
 */
export function mustFix(method: string, result: unknown): unknown {
  if (MULTIMAP.has(method)) {
    if (result === null || result === undefined || typeof result !== 'object' || result instanceof Uint8Array) {
      throw new Error(`bad argument #1 to 'pairs' (table expected, got ${luaType(result)})`);
    }
    const out: Record<string | number, unknown> = {};
    let empty = true;
    const fix = (k: string | number, v: unknown): void => {
      if (v === undefined || v === null) return;
      empty = false;
      out[k] = fixValue(v);
    };
    if (Array.isArray(result)) for (let i = 0; i < result.length; i++) fix(i + 1, result[i]);
    else for (const k of Object.keys(result)) fix(k, (result as Record<string, unknown>)[k]);
    return empty ? EMPTY_MAP : out;
  }
  if (RAW.has(method)) {
    if (typeof result === 'string') return Buffer.from(result, 'utf8');
    if (result instanceof Uint8Array) return result;
    // fix_raw(nil) fails inside mp_pack; the request then ends in a 500 (kong-plugin-protocol.md §2.6).
    throw new Error(`attempt to get length of local 'str' (a ${luaType(result)} value)`);
  }
  return result;
}

/** fix_mmap's per-value rule: `true` (a query flag) -> empty array, a string -> a one-element array. */
function fixValue(v: unknown): unknown {
  return v === true ? EMPTY_ARRAY : typeof v === 'string' ? [v] : v;
}

function luaType(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'object') return 'table';
  return typeof v;
}

function isPdkCall(d: unknown): d is PdkCall {
  return d !== null && typeof d === 'object' && typeof (d as PdkCall).Method === 'string';
}

/**
 * Runs one plugin phase for one request: HandleEvent, then PDK call / Step until the server says "ret".
 * Resolves 'ret' when the handler finished, `{ exited: true }` when a PDK call returned EXIT. Rejects with the
 * RPC error (RpcError, 'no data', ...) or with whatever the PDK callback threw.
 */
export async function runEvent(
  client: PluginServerClient,
  instanceId: number,
  phase: string,
  pdk: PdkCallback,
): Promise<'ret' | { exited: true }> {
  let stepIn = (await client.call('plugin.HandleEvent', { InstanceId: instanceId, EventName: phase })) as StepIn;
  const eventId = stepIn.EventId;
  for (;;) {
    if (stepIn.Data === 'ret') return 'ret';
    if (!isPdkCall(stepIn.Data)) {
      throw new Error(`plugin server sent neither "ret" nor a PDK call: ${JSON.stringify(stepIn.Data)}`);
    }
    const { Method } = stepIn.Data;
    const rawArgs: unknown = stepIn.Data.Args;
    // Kong: `if type(args) == "table" then method(unpack(args)) else method(args)`.
    const args = Array.isArray(rawArgs) ? rawArgs : rawArgs === null || rawArgs === undefined ? [] : [rawArgs];
    checkPdkArgs(Method, args);
    // The gateway's PDK answers synchronously: awaiting only a promise saves a turn per call.
    const answer = pdk(Method, args);
    const result = answer instanceof Promise ? await answer : answer;
    if (result === EXIT) return { exited: true };
    const stepMethod = getStepMethod(Method, result);
    const data = mustFix(Method, result);
    // `{EventId = id, Data = nil}` packs without the Data key.
    stepIn = (await client.call(
      stepMethod,
      data === undefined || data === null ? { EventId: eventId } : { EventId: eventId, Data: data },
    )) as StepIn;
  }
}
