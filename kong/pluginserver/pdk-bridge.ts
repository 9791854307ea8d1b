/**
 * The `kong` object handed to plugin phase handlers: kong-pdk 0.6.0's PDK bridge (kong-pdk/pdk.js
 * `newBridgeCall`, `bridgeHandler`, `rpcCall`), rebuilt with two changes: the camelCase -> snake_case name of a
 * property is computed once per distinct name instead of with a regex replace on every access (kong-pdk's
 * Proxy trap ran that regex twice per PDK call, `kong.request` then `.getRawBody`, ~5 µs of plugin-server CPU
 * per proxied request), and a call goes straight to the event (event.ts `PdkChannel`), whose promise Kong's
 * answer settles, instead of through kong-pdk's pipe and an async function awaiting `[result, error]`.
 * Everything a plugin can observe is as in kong-pdk: every property access returns a fresh callable Proxy with
 * `prefix` and `call`, a call sends `{Method, Args}` to Kong and returns a promise, kong.response.exit / error
 * resolve at once without waiting for a reply, an error reply rejects with kong-pdk's own PDKError and message,
 * and a Symbol property throws the same TypeError (`name.replace is not a function`).
 */
import type { PdkChannel } from './event';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const PDK = require('kong-pdk/pdk') as { Error: new (message: string) => Error };

type Call = (method: string, ...args: unknown[]) => Promise<unknown>;
interface BridgeTarget {
  (...args: unknown[]): Promise<unknown>;
  prefix: string;
  call: Call;
}

const NON_RETURN_METHODS = new Set(['kong.response.exit', 'kong.response.error']);

/** Full method names by prefix, then by property name; plugins use a small fixed set of names. */
const names = new Map<string, Map<string, string>>();
const MAX_NAMES = 10_000;
let cached = 0;

function methodName(prefix: string, name: string): string {
  let byName = names.get(prefix);
  const hit = byName?.get(name);
  if (hit !== undefined) return hit;
  // kong-pdk: camelCase to underscore_case (throws TypeError for a Symbol, as there).
  const clean = name.replace(/[a-z][A-Z]/g, (str) => (str.substring(0, 1) + '_' + str.substring(1)).toLowerCase());
  const full = `${prefix}.${clean}`;
  if (cached < MAX_NAMES) {
    if (!byName) names.set(prefix, (byName = new Map()));
    byName.set(name, full);
    cached++;
  }
  return full;
}

const bridgeHandler: ProxyHandler<BridgeTarget> = {
  get(target, name) {
    return newBridgeCall(methodName(target.prefix, name as string), target.call);
  },
};

function newBridgeCall(prefix: string, call: Call): BridgeTarget {
  function bridgeCall(...args: unknown[]): Promise<unknown> {
    return call(prefix, ...args);
  }
  bridgeCall.prefix = prefix;
  bridgeCall.call = call;
  return new Proxy(bridgeCall, bridgeHandler);
}

function rpcCall(ch: PdkChannel): Call {
  return (method, ...args) => {
    if (!NON_RETURN_METHODS.has(method)) return ch.call(method, args);
    ch.send(method, args);
    return Promise.resolve(undefined);
  };
}

/** What kong-pdk's `new Kong(pipe).kong` returns, over an event instead of a pipe. */
export function newKongBridge(ch: PdkChannel): unknown {
  return newBridgeCall('kong', rpcCall(ch));
}

export const PdkError = PDK.Error;
