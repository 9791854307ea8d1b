/**
 * The log phase of one request (Kong: the plugins iterator's log phase, in PRIORITY order, after the response).
 * Each plugin gets kong.log.serialize() as it stands when its turn comes: the table saved when the phase began
 * plus what earlier log handlers set with kong.log.set_serialize_value.
 *
 * One difference from Kong, on purpose: Kong runs a plugin server's log handler in a detached timer, so nothing
 * it sets reaches the log plugins (kong/runloop/plugin_servers/plugin.lua). The gateway waits for it (up to
 * LOG_HANDLER_DEADLINE_MS) before the next log plugin, so a streamed request's `ai.proxy` analytics, known only
 * when the stream ended, reach file-log, http-log and prometheus like any other request's.
 */
import type { Logger } from '../log';
import { deepMerge } from '../pdk/values';
import type { Worker } from '../plugin-servers/worker';
import type { ConfiguredPlugin } from '../plugins-iterator';
import type { RequestContext } from '../proxy/context';
import { isNative, type NativeLogPlugins } from './index';

/** Longer than ai-proxy-advanced's own wait for a stream that outlives the client (10 s). */
export const LOG_HANDLER_DEADLINE_MS = 15_000;

export async function runLogPhase(
  logger: Logger,
  worker: Worker,
  ctx: RequestContext,
  plugins: readonly ConfiguredPlugin[],
  native: NativeLogPlugins | undefined,
): Promise<void> {
  ctx.phase = 'log';
  const saved = ctx.saved;
  if (!saved) return;
  // Counted so that the gateway's close() waits for the entry to reach the log plugins.
  if (native) native.phasesInFlight++;
  try {
    await logPlugins(logger, worker, ctx, plugins, native, saved);
  } finally {
    if (native) native.phasesInFlight--;
  }
}

async function logPlugins(
  logger: Logger,
  worker: Worker,
  ctx: RequestContext,
  plugins: readonly ConfiguredPlugin[],
  native: NativeLogPlugins | undefined,
  saved: NonNullable<RequestContext['saved']>,
): Promise<void> {
  const base = saved.serializeData;
  let entry = base;
  for (const p of plugins) {
    if (isNative(p.info)) {
      native?.log(p.info.name, p.conf, entry);
      continue;
    }
    saved.serializeData = entry;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), LOG_HANDLER_DEADLINE_MS);
      timer.unref();
    });
    try {
      const r = await Promise.race([worker.handleEvent(p, 'log', ctx), deadline]);
      if (r === 'late') logger.warn(`[${p.info.name}] log: still running after ${LOG_HANDLER_DEADLINE_MS} ms, going on without it, request_id: ${ctx.id}`);
    } catch (err) {
      logger.err(`[${p.info.name}] log: ${(err as Error).message}, request_id: ${ctx.id}`);
    } finally {
      clearTimeout(timer);
    }
    entry = deepMerge(base, ctx.serializeValues);
  }
}
