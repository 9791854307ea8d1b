/**
 * The attempt loop: pick an untried healthy target, build the request for ITS provider from the original body,
 * call it, and fail over per `failover_criteria` / `retries` (nginx proxy_next_upstream semantics, failover.ts).
 * Every pick is reported to the balancer exactly once; every outcome to target health.
 * Returns what the client should get; request errors (bad body, own model, ...) are thrown as typed errors.
 */
import type { PluginConfig, TargetConfig } from '../../../schemas/config';
import type { Balancer, BalancerTarget } from '../balancer/balancer';
import { AiProxyError, NoHealthyTargetError, RateLimitedError, TranslationError, UnsupportedFeatureError } from '../errors';
import type { Readable } from 'node:stream';
import type { ProviderDriver, SerializedRequest, SignDeps, StreamTranslator, TokenUsage } from '../providers/provider';
import { costOf, type AttemptRecord } from './analytics';
import { applyAuth } from './auth';
import { FailoverPolicy, type AttemptFailure, type FailureKind } from './failover';
import { parseRetryAfter, type EngineHealth } from './health';
import type { ParsedBody } from './parse-request';
import type { ClientRequest } from './pdk';
import { assignOwn } from './assign-own';
import { buildAttemptContext, type PreparedTarget } from './target-context';
import type { UpstreamCaller, UpstreamStreamOpener, UpstreamTimeouts } from './upstream';

export interface AttemptDeps {
  /** Monotonic milliseconds (latency, EWMA, circuit timing). */
  now(): number;
  /** Wall-clock epoch milliseconds (Retry-After dates). */
  epochNow(): number;
  call: UpstreamCaller;
  /** The provider call for streamed delivery: resolves at the response head. */
  openStream: UpstreamStreamOpener;
  getDriver(provider: TargetConfig['model']['provider']): ProviderDriver;
  signDeps: SignDeps;
}

export interface PluginRuntime {
  readonly config: PluginConfig;
  readonly balancer: Balancer;
  readonly health: EngineHealth;
  /** Indexed like config.targets. */
  readonly prepared: readonly PreparedTarget[];
  readonly policy: FailoverPolicy;
  readonly timeouts: UpstreamTimeouts;
  readonly retries: number;
  readonly hashHeader: string;
}

interface Answered {
  /** The resolved target and model that produced the answer. */
  target: TargetConfig;
  model: string;
  tried: AttemptRecord[];
}

export type AttemptsResult =
  | (Answered & {
      kind: 'success';
      status: number;
      headers: Record<string, string>;
      body: unknown;
      usage: TokenUsage | undefined;
      responseModel: string | undefined;
      rawResponse: Buffer;
    })
  | (Answered & {
      /** A 2xx provider stream, not read yet: the caller pipes it through `translator` and then calls `finish`. */
      kind: 'stream';
      status: number;
      headers: Record<string, string>;
      body: Readable;
      translator: StreamTranslator;
      /**
       * Reports the attempt to the balancer and target health, once: the provider streamed to the end
       * (`complete`), the client went away first (usage only: a cut latency says nothing), or the stream broke.
       */
      finish(outcome: { ok: true; usage: TokenUsage; complete: boolean } | { ok: false }): void;
    })
  | (Answered & { kind: 'upstream-status'; status: number; headers: Record<string, string>; body: Buffer | string })
  | (Answered & { kind: 'failure'; failure: FailureKind; reason: string })
  | (Answered & { kind: 'translation-error'; error: TranslationError });

/** Request headers never forwarded upstream (hop-by-hop, or recomputed). */
const DROP_REQUEST_HEADERS = new Set([
  'host', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade',
  'content-length', 'accept-encoding', 'expect',
]);
/** Response headers never passed back (hop-by-hop, recomputed by exit, or cleared as Kong does for OpenAI-style providers). */
const DROP_RESPONSE_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'content-length',
  'set-cookie',
]);

export function forwardedRequestHeaders(client: ClientRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of client.headers) if (!DROP_REQUEST_HEADERS.has(k)) out[k] = v.join(', ');
  // Kong asks for gzip or identity; we ask for identity so answers can be inspected without inflating.
  out['accept-encoding'] = 'identity';
  return out;
}

export function passedResponseHeaders(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(h)) if (!DROP_RESPONSE_HEADERS.has(k)) out[k] = h[k] as string;
  return out;
}

function mergeClientQuery(url: string, client: ClientRequest): string {
  if (client.rawQuery === '') return url;
  const u = new URL(url);
  for (const [k, v] of new URLSearchParams(client.rawQuery)) if (!u.searchParams.has(k)) u.searchParams.append(k, v);
  return u.toString();
}

async function buildRequest(
  driver: ProviderDriver,
  prepared: PreparedTarget,
  parsed: ParsedBody,
  client: ClientRequest,
  rt: PluginRuntime,
  deps: AttemptDeps,
  baseHeaders: Record<string, string>,
): Promise<{ req: SerializedRequest; target: TargetConfig; model: string; tried: AttemptRecord; ctx: ReturnType<typeof buildAttemptContext>['ctx'] }> {
  const { ctx, target } = buildAttemptContext(prepared, parsed.json, client, rt.config);
  const up = driver.toRequest(parsed.json, ctx);
  up.url = mergeClientQuery(up.url, client);
  up.headers = assignOwn(assignOwn({}, baseHeaders), up.headers);
  const bodyAuth = target.auth?.param_location === 'body' && target.auth.param_name;
  // A driver that returns the client's own object (preserve) gets the client's bytes, as Kong sends them.
  const untouched = up.body === parsed.json;
  if (untouched && bodyAuth) up.body = { ...parsed.json };
  applyAuth(up, target.auth, client);
  let body: Buffer | undefined;
  if (up.body === undefined) body = undefined;
  else if (untouched && up.body === parsed.json) body = parsed.raw;
  else if (Buffer.isBuffer(up.body)) body = up.body;
  else if (typeof up.body === 'string') body = Buffer.from(up.body);
  else body = Buffer.from(JSON.stringify(up.body));
  let req: SerializedRequest = { method: up.method, url: up.url, headers: up.headers, body };
  if (driver.sign) req = await driver.sign(req, ctx, deps.signDeps);
  return { req, target, model: ctx.model, tried: { target, model: ctx.model, url: req.url, body: req.body }, ctx };
}

/**
 * @param stream deliver as a stream: the provider is called with `stream` in its context and a 2xx answer comes
 *   back unread (kind 'stream'); failover is possible only until then, as nginx's proxy_next_upstream only
 *   applies before anything was sent to the client.
 * @param clientGone streams only: the client went away; the provider call in flight is aborted, no target is
 *   blamed for it, and no further target is tried.
 */
export async function runAttempts(
  rt: PluginRuntime,
  client: ClientRequest,
  parsed: ParsedBody,
  deps: AttemptDeps,
  stream = false,
  clientGone?: AbortSignal,
): Promise<AttemptsResult> {
  const tried = new Set<number>();
  const triedTargets: AttemptRecord[] = [];
  const hashKey = client.headers.get(rt.hashHeader)?.[0];
  const baseHeaders = forwardedRequestHeaders(client);
  const maxAttempts = rt.retries + 1;
  let last: AttemptsResult | undefined;

  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const exclude = rt.health.exclusions(tried);
    const picked: BalancerTarget | undefined = rt.balancer.pick({ hashKey, exclude });
    if (!picked) {
      if (last) return last;
      const waitMs = rt.health.rateLimitedForMs?.(tried);
      if (waitMs !== undefined) {
        throw new RateLimitedError(`every target is rate-limited by its provider; retry after ${Math.ceil(waitMs / 1000)}s`, { retryAfterMs: waitMs });
      }
      throw new NoHealthyTargetError('failed to get peer');
    }
    tried.add(picked.index);
    const prepared = rt.prepared[picked.index];
    let built: Awaited<ReturnType<typeof buildRequest>>;
    try {
      if (!prepared) throw new NoHealthyTargetError('failed to get peer');
      const driver = deps.getDriver(prepared.config.model.provider);
      if (stream && !driver.createStreamTranslator) {
        throw new UnsupportedFeatureError(`provider ${driver.name} cannot stream responses yet; send stream: false`);
      }
      built = await buildRequest(driver, prepared, parsed, client, rt, deps, baseHeaders);
    } catch (err) {
      rt.balancer.report(picked, { ok: false });
      // A failover target that cannot take this request ends failover with the previous upstream answer.
      if (last && err instanceof AiProxyError) return last;
      throw err;
    }
    triedTargets.push(built.tried);
    const driver = deps.getDriver(built.target.model.provider);
    const started = deps.now();
    const result = stream ? await deps.openStream(built.req, rt.timeouts, clientGone) : await deps.call(built.req, rt.timeouts);
    const latencyMs = deps.now() - started;
    if (clientGone?.aborted) {
      if (result.ok && 'stream' in result.response) result.response.stream?.destroy();
      // Neutral for the balancer (no latency, no usage) and not a failure of the target.
      rt.balancer.report(picked, { ok: true });
      return { target: built.target, model: built.model, tried: triedTargets, kind: 'failure', failure: 'error', reason: 'the client went away' };
    }
    const target = built.target;
    const model = built.model;

    let failure: AttemptFailure;
    let retryAfterMs: number | undefined;
    if (result.ok) {
      const res = result.response;
      if ('stream' in res && res.stream) {
        const body = res.stream;
        let translator: ReturnType<NonNullable<ProviderDriver['createStreamTranslator']>>;
        try {
          translator = (driver.createStreamTranslator as NonNullable<ProviderDriver['createStreamTranslator']>)(built.ctx);
        } catch (err) {
          body.destroy();
          rt.balancer.report(picked, { ok: false, latencyMs });
          throw err;
        }
        let finished = false;
        const finish = (outcome: { ok: true; usage: TokenUsage; complete: boolean } | { ok: false }): void => {
          if (finished) return;
          finished = true;
          const e2eMs = deps.now() - started;
          if (outcome.ok) {
            const cost = costOf(target, outcome.usage);
            rt.balancer.report(picked, outcome.complete ? { ok: true, latencyMs: e2eMs, usage: outcome.usage, cost } : { ok: true, usage: outcome.usage, cost });
            rt.health.recordSuccess(picked.index);
          } else {
            rt.balancer.report(picked, { ok: false, latencyMs: e2eMs });
            rt.health.recordFailure(picked.index, { kind: 'error', status: undefined, retryAfterMs: undefined });
          }
        };
        return { target, model, tried: triedTargets, kind: 'stream', status: res.status, headers: passedResponseHeaders(res.headers), body, translator, finish };
      }
      const resBody = res.body ?? Buffer.alloc(0);
      if (res.status >= 200 && res.status < 300) {
        const headers = passedResponseHeaders(res.headers);
        if (res.status !== 200) {
          rt.balancer.report(picked, { ok: true, latencyMs });
          rt.health.recordSuccess(picked.index);
          return { target, model, tried: triedTargets, kind: 'upstream-status', status: res.status, headers, body: resBody };
        }
        try {
          const tr = driver.fromResponse(res.status, res.headers, resBody, built.ctx);
          rt.balancer.report(picked, { ok: true, latencyMs, usage: tr.usage, cost: costOf(built.target, tr.usage) });
          rt.health.recordSuccess(picked.index);
          return {
            target,
            model,
            tried: triedTargets,
            kind: 'success',
            status: 200,
            headers,
            body: tr.raw ?? tr.body,
            usage: tr.usage,
            responseModel: tr.model,
            rawResponse: resBody,
          };
        } catch (err) {
          rt.balancer.report(picked, { ok: false, latencyMs });
          if (err instanceof TranslationError) return { target, model, tried: triedTargets, kind: 'translation-error', error: err };
          throw err;
        }
      }
      failure = { kind: 'http', status: res.status, sent: true };
      if (res.status === 429 || res.status === 503) retryAfterMs = parseRetryAfter(res.headers['retry-after'], deps.epochNow());
      const out = driver.fromError(res.status, res.headers, resBody, built.ctx);
      last = {
        target,
        model,
        tried: triedTargets,
        kind: 'upstream-status',
        status: out.status,
        headers: assignOwn(passedResponseHeaders(res.headers), out.headers),
        body: out.body,
      };
    } else {
      failure = result.failure;
      last = { target, model, tried: triedTargets, kind: 'failure', failure: failure.kind, reason: result.message };
    }
    rt.balancer.report(picked, { ok: false, latencyMs });
    rt.health.recordFailure(picked.index, { kind: failure.kind, status: failure.status, retryAfterMs });
    if (!rt.policy.shouldFailover(failure, built.req.method)) return last;
  }
  // retries exhausted: `last` is always set here because every loop iteration either returns or sets it.
  return last as AttemptsResult;
}
