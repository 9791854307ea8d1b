/**
 * The RPC methods of the plugin server, with kong-pdk 0.6.0's names, parameters, replies and error texts
 * (kong-pdk server.js; kong-plugin-protocol.md §1.7, §1.8). Kong keys on "no plugin instance #N" to restart
 * instances (mp_rpc.lua handle_event), so those texts are kept byte for byte, including kong-pdk's
 * "not initizlied" typo.
 *
 * Deliberate differences, each fixing a kong-pdk defect:
 * - an event that forwarded kong.response.exit / error is released at once (kong-pdk keeps it for ever, about
 *   1 KB per request), and so is one Kong abandoned (a PDK call left unanswered for `abandonAfterMs`, which
 *   happens when the Lua PDK function raised an error);
 * - CloseInstance calls the plugin instance's close() when it has one;
 * - GetStatus lists the live instances (kong-pdk iterates its Map with for-in and always reports none);
 * - only the RPC methods below can be called (kong-pdk dispatches to any Server prototype member).
 */
import fs from 'node:fs';
import { BusyPoll, DEFAULT_BUSY_POLL_US } from '../rpc/busy-poll';
import { isNonReturn, PluginEvent, RET, type PdkMessage } from './event';
import { loadPluginsDir, type PluginModule } from './loader';
// kong-pdk's PDK bridge (its name conversion cached): plugins get the `kong` object kong-js-pluginserver gives.
import { newKongBridge, PdkError } from './pdk-bridge';
import type { Logger } from './log';


export class PluginServerError extends Error {
  override get name(): string {
    return 'PluginServerError';
  }
}

interface Instance {
  id: number;
  name: string;
  module: PluginModule;
  obj: Record<string, unknown>;
  config: unknown;
  startTime: number;
}

type Step = { EventId?: unknown; Data?: unknown };

/** Gets the result of an RPC method that `invoke` could not answer at once: `ok` false carries the error. */
export type Done = (ok: boolean, value: unknown) => void;
/** Returned by `invoke` when the result will go to `done`. */
export const LATER: unique symbol = Symbol('later');

function later(p: Promise<unknown>, done: Done): typeof LATER {
  p.then(
    (v) => done(true, v),
    (e: unknown) => done(false, e),
  );
  return LATER;
}

const newPdkError = (m: string): Error => new PdkError(m);

const STEP_ALIASES = ['StepMultiMap', 'StepService', 'StepConsumer', 'StepRoute', 'StepPlugin', 'StepCredential', 'StepMemoryStats'];
export const RPC_METHODS: ReadonlySet<string> = new Set([
  'GetStatus',
  'GetPluginInfo',
  'StartInstance',
  'InstanceStatus',
  'CloseInstance',
  'HandleEvent',
  'Step',
  'StepError',
  'SetPluginDir',
  ...STEP_ALIASES,
]);

export interface PluginServerOptions {
  pluginDir?: string | undefined;
  logger: Logger;
  /** Release an event whose PDK call Kong has not answered for this long (default 120 s). */
  abandonAfterMs?: number;
  /** How often to look for abandoned events (default 5 s). */
  sweepMs?: number;
  /**
   * Keep the event loop polling for up to this many µs after sending Kong a PDK call, instead of sleeping until
   * its Step wakes the process (kong/rpc/busy-poll.ts); 0 turns it off. Default DEFAULT_BUSY_POLL_US (0, off).
   */
  busyPollUs?: number;
}

export { DEFAULT_BUSY_POLL_US };

export class PluginServer {
  readonly plugins = new Map<string, PluginModule>();
  readonly instances = new Map<number, Instance>();
  readonly events = new Map<number, PluginEvent>();
  pluginDir: string | undefined;
  private instanceID = 0;
  private eventID = 0;
  private tick = 1;
  private readonly abandonTicks: number;
  private readonly sweepMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly busyPoll: BusyPoll;
  readonly logger: Logger;

  constructor(opts: PluginServerOptions) {
    this.logger = opts.logger;
    this.pluginDir = opts.pluginDir;
    this.sweepMs = opts.sweepMs ?? 5_000;
    this.abandonTicks = Math.max(1, Math.ceil((opts.abandonAfterMs ?? 120_000) / this.sweepMs));
    this.busyPoll = new BusyPoll(opts.busyPollUs ?? DEFAULT_BUSY_POLL_US);
    if (this.pluginDir) loadPluginsDir(this.pluginDir, this.plugins, this.logger);
  }

  /** Runs every plugin's `Warm` (serve mode only, before listening); a failing one is reported, never fatal. */
  warm(): void {
    for (const m of this.plugins.values()) {
      try {
        m.warm?.();
      } catch (e) {
        this.logger.warn(`plugin "${m.name}" Warm failed: ${(e as Error).message}`);
      }
    }
  }

  /** Starts the abandoned-event sweep (serve mode only; dump mode must exit at once). */
  startSweeper(): void {
    if (this.sweeper) return;
    this.sweeper = setInterval(() => this.sweep(), this.sweepMs);
    this.sweeper.unref();
  }

  close(): void {
    this.busyPoll.stop();
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = undefined;
  }

  /**
   * Calls RPC method `cmd`: returns its result when it is known at once, otherwise LATER, and then `done` gets
   * it; an error is thrown or handed to `done` with `ok` false, carrying the text the error reply must have.
   * HandleEvent and Step answer at once when the phase's next message is already known (its first PDK call, or
   * "ret" from a handler that had nothing to do): the reply goes out in the same turn of the event loop. They
   * take no promise of their own: the plugin's next message reaches `done` through a callback.
   */
  invoke(cmd: string, params: unknown[], done: Done): unknown {
    switch (cmd) {
      case 'HandleEvent':
        return this.HandleEvent(params[0] as { InstanceId?: unknown; EventName?: unknown } | undefined, done);
      case 'StepError':
        return this.step(params[0] as Step | undefined, true, done);
      case 'GetStatus':
        return later(this.GetStatus(), done);
      case 'GetPluginInfo':
        return later(this.GetPluginInfo(params[0]), done);
      case 'StartInstance':
        return later(this.StartInstance(params[0] as { Name?: unknown; Config?: unknown }), done);
      case 'InstanceStatus':
        return later(this.InstanceStatus(params[0]), done);
      case 'CloseInstance':
        return later(this.CloseInstance(params[0]), done);
      case 'SetPluginDir':
        return later(this.SetPluginDir(params[0]), done);
      default:
        // Step and its aliases: kong-pdk treats StepMultiMap, StepService, ... exactly like Step.
        return this.step(params[0] as Step | undefined, false, done);
    }
  }

  /** `invoke` as a promise (or the result itself when known at once), for callers in this process (tests). */
  call(cmd: string, params: unknown[]): unknown {
    let settle: Done = () => undefined;
    const p = new Promise((resolve, reject) => {
      settle = (ok, v) => (ok ? resolve(v) : reject(v));
    });
    let r: unknown;
    try {
      r = this.invoke(cmd, params, settle);
    } catch (e) {
      settle(false, e);
      return p;
    }
    return r === LATER ? p : r;
  }

  async SetPluginDir(dir: unknown): Promise<string> {
    const d = String(dir);
    try {
      await fs.promises.stat(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      throw new PluginServerError(`${d} does not exists`);
    }
    this.pluginDir = d;
    loadPluginsDir(d, this.plugins, this.logger);
    return 'ok';
  }

  async GetStatus(): Promise<unknown> {
    const plugins: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [name, p] of this.plugins) {
      const instances: unknown[] = [];
      for (const ins of this.instances.values()) if (ins.module === p) instances.push(this.status(ins));
      plugins[name] = {
        Name: name,
        Modtime: p.mtime,
        LoadTime: p.loadTime,
        Instances: instances,
        LastStartInstance: p.lastStartInstanceTime,
        LastCloseInstance: p.lastCloseInstanceTime,
      };
    }
    return { Pid: process.pid, Plugins: plugins };
  }

  async GetPluginInfo(name: unknown): Promise<unknown> {
    const p = typeof name === 'string' ? this.plugins.get(name) : undefined;
    if (!name || !p) throw new PluginServerError(`${String(name)} not initizlied`);
    return p.info();
  }

  async StartInstance(cfg: { Name?: unknown; Config?: unknown } | undefined): Promise<unknown> {
    const name = cfg?.Name;
    const p = typeof name === 'string' ? this.plugins.get(name) : undefined;
    if (!p) throw new PluginServerError(`${String(name)} not initizlied`);
    const config: unknown = JSON.parse(cfg?.Config as string);
    // kong-pdk takes the id before constructing, so a throwing constructor still uses one up.
    const id = this.instanceID++;
    p.lastStartInstanceTime = Date.now() / 1000;
    const obj = new p.cls(config);
    const ins: Instance = { id, name: p.name, module: p, obj, config, startTime: Date.now() / 1000 };
    this.instances.set(id, ins);
    this.logger.info(`instance #${id} of ${p.name} started`);
    return { Name: p.name, Id: id, Config: config, StartTime: ins.startTime };
  }

  async InstanceStatus(iid: unknown): Promise<unknown> {
    return this.status(this.instance(iid));
  }

  async CloseInstance(iid: unknown): Promise<unknown> {
    const ins = this.instance(iid);
    this.instances.delete(ins.id);
    ins.module.lastCloseInstanceTime = Date.now() / 1000;
    const close = ins.obj.close;
    if (typeof close === 'function') {
      // The plugin's own cleanup (timers, sockets, module-level state keyed by this config); its failure
      // must not fail Kong's CloseInstance, which Kong ignores anyway.
      try {
        await (close as () => unknown).call(ins.obj);
      } catch (e) {
        this.logger.warn(`close() of ${ins.name} instance #${ins.id} failed: ${String(e)}`);
      }
    }
    this.logger.info(`instance #${ins.id} of ${ins.name} closed`);
    return { Name: ins.name, Id: ins.id, Config: ins.config };
  }

  HandleEvent(event: { InstanceId?: unknown; EventName?: unknown } | undefined, done: Done): unknown {
    const ins = this.instance(event?.InstanceId);
    const phase = String(event?.EventName);
    const ev = new PluginEvent(this.eventID++, newPdkError);
    this.events.set(ev.id, ev);
    this.runPhase(ins, phase, ev);
    return this.reply(ev, done);
  }

  private step(data: Step | undefined, isError: boolean, done: Done): unknown {
    const eid = data?.EventId;
    const ev = typeof eid === 'number' ? this.events.get(eid) : undefined;
    if (!ev) throw new PluginServerError(`event id ${String(eid)} not found`);
    // Kong steps an event one PDK call at a time; a concurrent second Step would strand the first reply.
    if (ev.busy) throw new PluginServerError(`event id ${String(eid)} is still running; Step it once per PDK call`);
    if (ev.awaitingKongSince !== 0) this.busyPoll.settle(ev.pollToken);
    ev.awaitingKongSince = 0;
    ev.deliver(data?.Data, isError);
    return this.reply(ev, done);
  }

  /** The reply carrying the plugin's next message: now when it is queued, else LATER and through `done`. */
  private reply(ev: PluginEvent, done: Done): unknown {
    const m = ev.next();
    if (m !== undefined) return this.forward(ev, m);
    ev.wait((msg) => done(true, this.forward(ev, msg)));
    return LATER;
  }

  /** Builds the reply carrying the plugin's next message and retires the event when Kong is done with it. */
  private forward(ev: PluginEvent, msg: PdkMessage): { Data: PdkMessage; EventId: number } {
    if (msg === RET) {
      this.events.delete(ev.id);
    } else if (isNonReturn(msg)) {
      // Kong never sends Step after kong.response.exit / error: nothing will ever read this event again.
      this.events.delete(ev.id);
      ev.release(`${msg.Method} was sent to Kong`);
    } else {
      ev.awaitingKongSince = this.tick;
      // Kong runs the PDK call and answers with a Step within microseconds: poll for it rather than sleep.
      ev.pollToken = this.busyPoll.arm();
    }
    return { Data: msg, EventId: ev.id };
  }

  /**
   * Starts the phase handler; "ret" follows its end. A handler that returns anything but a thenable has ended
   * already, so "ret" is queued at once (after any PDK call it made without awaiting) and HandleEvent can answer
   * without waiting for a microtask.
   */
  private runPhase(ins: Instance, phase: string, ev: PluginEvent): void {
    let ret: unknown;
    try {
      const handler = ins.obj[phase];
      if (typeof handler !== 'function') throw new TypeError(`${ins.name} has no ${phase} phase handler`);
      ret = (handler as (kong: unknown) => unknown).call(ins.obj, newKongBridge(ev));
    } catch (e) {
      this.phaseFailed(ins, phase, ev, e);
      ev.end();
      return;
    }
    if (ret === null || (typeof ret !== 'object' && typeof ret !== 'function') || typeof (ret as PromiseLike<unknown>).then !== 'function') {
      ev.end();
      return;
    }
    (ret as PromiseLike<unknown>).then(
      () => ev.end(),
      (e: unknown) => {
        this.phaseFailed(ins, phase, ev, e);
        ev.end();
      },
    );
  }

  private phaseFailed(ins: Instance, phase: string, ev: PluginEvent, e: unknown): void {
    if (ev.releasedBecause === undefined) {
      this.logger.warn(`unhandled exception in ${ins.name}.${phase} on instance #${ins.id}: ${String(e)}`);
    } else {
      this.logger.debug(`${ins.name}.${phase} on instance #${ins.id} after the event ended: ${String(e)}`);
    }
  }

  private sweep(): void {
    this.tick++;
    for (const [id, ev] of this.events) {
      if (ev.awaitingKongSince !== 0 && this.tick - ev.awaitingKongSince > this.abandonTicks) {
        this.events.delete(id);
        ev.release('Kong abandoned it without answering the PDK call');
        this.logger.debug(`released abandoned event #${id}`);
      }
    }
  }

  private instance(iid: unknown): Instance {
    const ins = typeof iid === 'number' ? this.instances.get(iid) : undefined;
    // Kong expects the error to start with "no plugin instance" (mp_rpc.lua handle_event).
    if (!ins) throw new PluginServerError(`no plugin instance #${String(iid)}`);
    return ins;
  }

  private status(ins: Instance): unknown {
    return { Name: ins.name, Id: ins.id, Config: ins.config, StartTime: ins.startTime };
  }
}
