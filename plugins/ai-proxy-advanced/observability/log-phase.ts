/**
 * The plugin's `log` phase.
 *
 * Kong runs an external plugin's log handler in a timer, after the log plugins (file-log, http-log, prometheus …)
 * have serialized the request (kong/runloop/plugin_servers/plugin.lua: `native_timer_at(0, …)` with the
 * `serialize_data` captured when the phase ran). A buffered request's `ai.proxy` block was set before `exit`,
 * so Kong's log plugins have it; a streamed request's block is only known when the stream ends, which no
 * external plugin can get into Kong's log plugins (README "Analytics"). So this phase:
 * - does nothing, without a single RPC, when no streamed request is waiting and the sink does not log
 *   buffered requests (the common case costs nothing but Kong's event call);
 * - otherwise reads kong.log.serialize() once, finds the stream's record by the ticket in `upstream_uri` (a
 *   ticket Kong never claimed is dropped then, which stops the provider request access started for it), and
 *   sets `ai.proxy` (the local gateway runs its log plugins after the plugin's log handler, so there they
 *   record it like any other request's; on Kong the value arrives too late and is dropped with the timer), and
 *   writes the entry, Kong's log shape with `ai.proxy`, to the plugin server's sink (observability/sink.ts).
 */
import type { PluginConfig } from '../../../schemas/config';
import type { AiProxyBlock } from '../engine/analytics';
import { dropUnclaimedTicket, STREAM_PATH } from '../engine/stream-endpoint';
import { pendingStreams, type PendingStreams } from './record';
import { sinkFromEnv, type LogSink } from './sink';
import { onShutdown } from '../../../kong/pluginserver/shutdown-hooks';

export interface LogPhasePdk {
  log: {
    serialize(): Promise<unknown>;
    setSerializeValue(key: string, value: unknown): Promise<void>;
  };
}

export interface LogPhaseDeps {
  pending: PendingStreams;
  sink: LogSink | undefined;
  /** How long to wait for a stream that has not ended yet when Kong logs it (the client left first). */
  waitMs: number;
  /**
   * Drops a stream ticket Kong never brought to the stream endpoint (stream-endpoint.ts `dropUnclaimed`): by the
   * log phase the response is over, so it never will.
   */
  dropUnclaimed?: (ticket: string) => unknown;
}

let processSink: LogSink | undefined | null = null;

/**
 * AI_PROXY_ADVANCED_LOG_PHASE=off: the plugin does not declare its `log` phase (index.ts `Phases`), so Kong sends no
 * log event per request: one RPC round trip fewer in the plugin server, and on Kong's side no
 * `kong.log.serialize()` + ngx.ctx copy + timer per request (kong/runloop/plugin_servers/plugin.lua). What is lost:
 * streamed requests' `ai.proxy` (they only reach the sink and the local gateway's log plugins through the log
 * phase); buffered requests, metrics and balancers do not need it. Read where Kong asks for the plugin's phases
 * (the query command) and in the plugin server alike: set it in both, or with kong.conf `nginx_main_env`.
 * Anything but `off` (default `on`) declares it.
 */
export function logPhaseDeclared(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.AI_PROXY_ADVANCED_LOG_PHASE?.trim().toLowerCase() !== 'off';
}

/** This process's setting, read once (module load). */
export const LOG_PHASE_DECLARED = logPhaseDeclared();
if (!LOG_PHASE_DECLARED && (process.env.AI_PROXY_ADVANCED_LOG_FILE?.trim() || process.env.AI_PROXY_ADVANCED_LOG_HTTP_ENDPOINT?.trim())) {
  process.stderr.write('[ai-proxy-advanced] AI_PROXY_ADVANCED_LOG_PHASE=off: the log sink gets no entries (it is fed by the log phase)\n');
}

/** How long after its stream ended a record's log phase is still expected (it follows the response at once). */
const LOG_PHASE_EXPECTED_MS = 5000;

// A plugin server being stopped waits for the log phases of streams that just ended, then flushes the sink, so
// that stopping it loses no entry (kong/pluginserver/shutdown-hooks.ts).
onShutdown({
  name: 'ai-proxy-advanced log sink',
  busy: () => pendingStreams.awaitingLog(LOG_PHASE_EXPECTED_MS),
  close: async (waitMs) => {
    if (processSink) await processSink.close(waitMs);
  },
});

/** The process's sink from the environment, built once; a bad setting is reported and disables the sink. */
export function processLogSink(): LogSink | undefined {
  if (processSink === null) {
    try {
      processSink = sinkFromEnv();
    } catch (err) {
      process.stderr.write(`[ai-proxy-advanced] log sink disabled: ${(err as Error).message}\n`);
      processSink = undefined;
    }
  }
  return processSink;
}

export function defaultLogPhaseDeps(): LogPhaseDeps {
  return { pending: pendingStreams, sink: processLogSink(), waitMs: 10_000, dropUnclaimed: dropUnclaimedTicket };
}

/** Header names that may carry a credential: the ones Kong redacts plus every auth header the targets use. */
function secretHeaders(config: PluginConfig): Set<string> {
  const names = new Set(['authorization', 'proxy-authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);
  for (const t of config.targets) {
    if (t.auth?.header_name) names.add(t.auth.header_name.toLowerCase());
  }
  return names;
}

function redactHeaders(entry: Record<string, unknown>, names: Set<string>): void {
  const req = entry.request as { headers?: Record<string, unknown>; querystring?: Record<string, unknown> } | undefined;
  if (req?.headers && typeof req.headers === 'object') {
    for (const k of Object.keys(req.headers)) if (names.has(k.toLowerCase())) req.headers[k] = 'REDACTED';
  }
}

function secretQueryParams(config: PluginConfig): Set<string> {
  const names = new Set<string>();
  for (const t of config.targets) if (t.auth?.param_location === 'query' && t.auth.param_name) names.add(t.auth.param_name);
  return names;
}

function redactQuery(entry: Record<string, unknown>, names: Set<string>): void {
  if (names.size === 0) return;
  const req = entry.request as { querystring?: Record<string, unknown>; uri?: string; url?: string } | undefined;
  if (req?.querystring && typeof req.querystring === 'object') {
    for (const k of Object.keys(req.querystring)) if (names.has(k)) req.querystring[k] = 'REDACTED';
  }
  for (const key of ['uri', 'url'] as const) {
    const v = req?.[key];
    if (typeof v !== 'string' || !v.includes('?')) continue;
    const [base, q] = [v.slice(0, v.indexOf('?')), new URLSearchParams(v.slice(v.indexOf('?') + 1))];
    for (const n of names) if (q.has(n)) q.set(n, 'REDACTED');
    (req as Record<string, unknown>)[key] = `${base}?${q.toString()}`;
  }
}

/** The stream ticket in Kong's `upstream_uri` (`/ai-proxy-advanced/stream/<ticket>[?query]`). */
export function ticketOf(upstreamUri: unknown): string | undefined {
  if (typeof upstreamUri !== 'string' || !upstreamUri.startsWith(STREAM_PATH)) return undefined;
  const rest = upstreamUri.slice(STREAM_PATH.length);
  const q = rest.indexOf('?');
  return q < 0 ? rest : rest.slice(0, q);
}

/**
 * Whether a log event has anything to do: a streamed request waits for it, or the sink logs every request. Kong
 * sends one per request; the common answer (no) is given without a promise or a PDK call (handler.ts).
 */
export function logPhaseHasWork(pending: PendingStreams = pendingStreams, sink: LogSink | undefined = processLogSink()): boolean {
  return pending.size > 0 || sink?.scope === 'all';
}

export async function logPhase(kong: LogPhasePdk, config: PluginConfig, deps: LogPhaseDeps = defaultLogPhaseDeps()): Promise<void> {
  const { pending, sink } = deps;
  const all = sink?.scope === 'all';
  if (!logPhaseHasWork(pending, sink)) return;
  const raw = await kong.log.serialize();
  let entry: Record<string, unknown>;
  try {
    // Kong hands the saved table over JSON-encoded (plugin_servers exposed_api "kong.log.serialize").
    entry = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Record<string, unknown>;
  } catch {
    return;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return;
  const ticket = ticketOf(entry.upstream_uri);
  const record = ticket === undefined ? undefined : pending.take(ticket);
  const ai = (entry.ai && typeof entry.ai === 'object' ? entry.ai : undefined) as Record<string, unknown> | undefined;
  let block = ai?.proxy as AiProxyBlock | undefined;
  if (record) {
    await deps.dropUnclaimed?.(ticket as string);
    block = await record.settled(deps.waitMs);
    if (block === undefined) return;
    await kong.log.setSerializeValue('ai.proxy', block);
    entry.ai = { ...(ai ?? {}), proxy: block };
  }
  if (!sink || block === undefined || (!record && !all)) return;
  redactHeaders(entry, secretHeaders(config));
  redactQuery(entry, secretQueryParams(config));
  sink.write(entry);
}
