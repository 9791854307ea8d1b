/**
 * One simulated nginx worker's side of the plugin-server protocol (kong/runloop/plugin_servers/plugin.lua and
 * rpc/mp_rpc.lua): its own RPC client per plugin server (own msg ids and connection pool), its own
 * `running_instances` keyed by plugin id, and `handle_event`:
 * - get_instance_id: reuse the instance while `seq` and `__plugin_id` match; otherwise StartInstance, then
 *   CloseInstance(old) ignoring errors; a start failure is a Lua error (HTTP 500 in access); a concurrent
 *   start is waited for (Kong: 0.1 s steps, at most 10 s, then "Could not claim instance_id…");
 * - bridge loop through kong/rpc runEvent with the gateway's PDK;
 * - an error containing "no plugin instance" resets every instance of that plugin in every worker (Kong:
 *   reset + worker event) and retries the whole phase; any other RPC error is logged and the request goes on
 *   without the plugin (fail-open); a Lua error raised by a PDK function propagates to the phase runner.
 * Kong retries "no plugin instance" without limit; here the retries stop after MAX_RESTARTS so a server that
 * never keeps an instance cannot spin the gateway, and the last error is logged.
 */
import { PluginServerClient, RpcConnectError, RpcError, runEvent } from '../../rpc';
import type { Logger } from '../log';
import { callPdk } from '../pdk';
import { LuaError } from '../pdk/phase-check';
import type { ConfiguredPlugin } from '../plugins-iterator';
import type { RequestContext } from '../proxy/context';
import type { PluginServerSettings } from '../settings';

interface InstanceInfo {
  id: number | undefined;
  seq: unknown;
  conf: Record<string, unknown>;
  pluginName: string;
  starting: Promise<void> | undefined;
}

const MAX_RESTARTS = 5;

/** get_instance_id's `return nil, err` (not a Lua error). */
class ClaimError extends Error {}
const CLAIM_WAIT_MS = 10_000;

export interface WorkerHost {
  logger: Logger;
  nodeId: string;
  /** Kong's worker event: drop every worker's instances of a plugin. */
  resetInstances(pluginName: string): void;
}

export class Worker {
  readonly clients = new Map<string, PluginServerClient>();
  readonly instances = new Map<string, InstanceInfo>();

  constructor(
    readonly index: number,
    servers: readonly PluginServerSettings[],
    private readonly host: WorkerHost,
    clientOptions: { readTimeoutMs?: number; busyPollUs?: number } = {},
  ) {
    for (const s of servers) this.clients.set(s.name, new PluginServerClient({ socketPath: s.socket, ...clientOptions }));
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }

  resetInstancesFor(pluginName: string): void {
    for (const [k, v] of this.instances) if (v.pluginName === pluginName) this.instances.delete(k);
  }

  private client(plugin: ConfiguredPlugin): PluginServerClient {
    const c = this.clients.get(plugin.info.server);
    if (!c) throw new LuaError(`no plugin server '${plugin.info.server}' for plugin ${plugin.info.name}`);
    return c;
  }

  /** The running instance's id when it is current (same `__seq__` and plugin id): no RPC and no wait needed. */
  private currentInstanceId(plugin: ConfiguredPlugin): number | undefined {
    const info = this.instances.get(plugin.entity.id);
    return info && info.id !== undefined && info.seq === plugin.conf.__seq__ && info.conf.__plugin_id === plugin.entity.id ? info.id : undefined;
  }

  async getInstanceId(plugin: ConfiguredPlugin): Promise<number> {
    const key = plugin.entity.id;
    const conf = plugin.conf;
    let info = this.instances.get(key);
    const deadline = Date.now() + CLAIM_WAIT_MS;
    while (info && info.id === undefined && info.starting) {
      const remaining = deadline - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        info.starting.then(() => false, () => false),
        new Promise<boolean>((r) => {
          timer = setTimeout(() => r(true), Math.max(0, remaining));
          timer.unref();
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.instances.delete(key);
        throw new ClaimError(`Could not claim instance_id for ${plugin.info.name} (key: ${key})`);
      }
      info = this.instances.get(key);
    }
    const current = this.currentInstanceId(plugin);
    if (current !== undefined) return current;

    const oldId = info?.id;
    let release!: () => void;
    const starting = new Promise<void>((r) => (release = r));
    if (!info) {
      info = { id: undefined, seq: conf.__seq__, conf, pluginName: plugin.info.name, starting };
      this.instances.set(key, info);
    } else {
      info.id = undefined;
      info.starting = starting;
    }
    const client = this.client(plugin);
    let status: { Id?: unknown };
    try {
      status = (await client.call('plugin.StartInstance', { Name: plugin.info.name, Config: JSON.stringify(conf) })) as { Id?: unknown };
    } catch (err) {
      this.host.logger.err(`starting instance: ${(err as Error).message}`);
      this.instances.delete(key);
      release();
      // get_instance_id calls error(err): a Lua error.
      throw new LuaError((err as Error).message);
    }
    info.id = Number(status.Id);
    info.seq = conf.__seq__;
    info.conf = conf;
    info.starting = undefined;
    release();
    if (oldId !== undefined) client.call('plugin.CloseInstance', oldId).catch(() => undefined);
    return info.id;
  }

  /** Rpc:handle_event. Resolves 'exit' when the plugin ended the request with kong.response.exit/error. */
  async handleEvent(plugin: ConfiguredPlugin, phase: string, ctx: RequestContext, attempt = 0): Promise<'ret' | 'exit'> {
    const env = { logger: this.host.logger, nodeId: this.host.nodeId, pluginName: plugin.info.name, pluginId: plugin.entity.id };
    let err: Error | undefined;
    try {
      const id = this.currentInstanceId(plugin) ?? (await this.getInstanceId(plugin));
      ctx.currentPluginId = plugin.entity.id;
      const r = await runEvent(this.client(plugin), id, phase, (method, args) => callPdk(env, ctx, method, args));
      return r === 'ret' ? 'ret' : 'exit';
    } catch (e) {
      // Rpc:call returns nil, err for transport and server errors; anything else (a PDK function's error,
      // must_fix failing inside mp_pack) is a Lua error that unwinds the handler.
      if (!isRpcFailure(e)) throw e instanceof LuaError ? e : new LuaError((e as Error).message);
      err = e as Error;
    }
    if (/no plugin instance/i.test(err.message)) {
      this.host.resetInstances(plugin.info.name);
      this.host.logger.warn(err.message);
      if (attempt < MAX_RESTARTS) return this.handleEvent(plugin, phase, ctx, attempt + 1);
    }
    this.host.logger.err(`${plugin.info.name} ${phase}: ${err.message}`);
    return 'ret';
  }
}

function isRpcFailure(e: unknown): boolean {
  return e instanceof ClaimError || e instanceof RpcError || e instanceof RpcConnectError || (e instanceof Error && e.message.startsWith('no data'));
}
