/**
 * The attempt loop: pick an untried healthy target, build the request for ITS provider from the original body,
 * call it, and fail over per `failover_criteria` / `retries` (nginx proxy_next_upstream semantics, failover.ts).
 * Every pick is reported to the balancer exactly once; every outcome to target health.
 * Returns what the client should get; request errors (bad body, own model, ...) are thrown as typed errors.
 */
import type { FilledConfig, TargetConfig } from '../../../schemas/config';
import type { Balancer, BalancerTarget } from '../balancer/balancer';
import { AiProxyError, NoHealthyTargetError, RateLimitedError, TranslationError, UnsupportedFeatureError } from '../errors';
import type { ProviderDriver, SerializedRequest, SignDeps, StreamTranslator, TokenUsage } from '../providers/provider';
import { costOf, type AttemptRecord } from './analytics';
import { applyAuth } from './auth';
import { FailoverPolicy, type AttemptFailure } from './failover';
import { parseRetryAfter, type EngineHealth } from './health';
import type { ParsedBody } from './parse-request';
import type { ClientRequest } from './pdk';
import { assignOwn, withOwn } from '../providers/translator-kit/assign-own';
import { readFirstEvent, type StreamLease, type StreamOutcome } from './stream-lease';
import { buildAttemptContext, type PreparedTarget } from './target-context';
import { driverForFormat } from './llm-format';
import { prepareSemanticPick } from '../semantic';
import { withIneligible } from './request-targets';
import { aliasOf } from './model-alias';
import { classifyUndiciError, type UpstreamCaller, type UpstreamStreamOpener, type UpstreamTimeouts } from './upstream';

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
  readonly config: FilledConfig;
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
  /** deps.now() when the answering attempt's request was sent: Kong's latency headers (engine/kong-headers.ts). */
  sentAt: number;
}

/** What a buffered delivery gets: everything but a stream. */
export type BufferedResult =
  | (Answered & {
      kind: 'success';
      status: number;
      headers: Record<string, string>;
      body: unknown;
      usage: TokenUsage | undefined;
      responseModel: string | undefined;
      rawResponse: Buffer;
    })
  | (Answered & { kind: 'upstream-status'; status: number; headers: Record<string, string>; body: Buffer | string })
  /** No usable answer from the last attempt (`failure`); `reason` is for the log only. */
  | (Answered & { kind: 'failure'; failure: AttemptFailure; reason: string })
  | (Answered & { kind: 'translation-error'; error: TranslationError });

/** A 2xx provider stream whose first event has been read and translated (stream-lease.ts). */
export type StreamResult = Answered & { kind: 'stream'; lease: StreamLease };

export type AttemptsResult = BufferedResult | StreamResult;

export interface AttemptOptions {
  /**
   * Deliver as a stream: the provider is called with `stream` in its context and a 2xx answer comes back as a
   * lease once its first event was translated; failover is possible until then (stream-lease.ts), as nginx's
   * proxy_next_upstream applies until anything was sent to the client.
   */
  stream?: boolean;
  /**
   * Streams: the client went away; the provider call in flight is aborted, no target is blamed for it, and no
   * further target is tried.
   */
  clientGone?: AbortSignal;
}

/**
 * How one attempt ended, for the balancer and target health. The only place either hears about attempts is
 * `settle`, so every pick is reported exactly once and both always agree.
 */
type Settlement =
  /** The provider answered: a latency data point (when the answer is whole), usage and cost. */
  | { ok: true; latencyMs?: number; usage?: TokenUsage; cost?: number }
  /**
   * The attempt failed. Without `failure` only the balancer hears of it (the request, not the target, was at
   * fault, or the answer was untranslatable: neither counts towards max_fails).
   */
  | { ok: false; latencyMs?: number; failure?: AttemptFailure }
  /** The client went away: balancer bookkeeping (in-flight counts) only, no latency, nobody blamed. */
  | { ok: 'neutral' };

function settle(rt: PluginRuntime, picked: BalancerTarget, s: Settlement): void {
  if (s.ok === 'neutral') {
    rt.balancer.report(picked, { ok: true });
  } else if (s.ok) {
    const outcome: { ok: true; latencyMs?: number; usage?: TokenUsage; cost?: number } = { ok: true };
    if (s.latencyMs !== undefined) outcome.latencyMs = s.latencyMs;
    if (s.usage !== undefined) {
      outcome.usage = s.usage;
      outcome.cost = s.cost;
    }
    rt.balancer.report(picked, outcome);
    rt.health.recordSuccess(picked.index);
  } else {
    rt.balancer.report(picked, s.latencyMs === undefined ? { ok: false } : { ok: false, latencyMs: s.latencyMs });
    if (s.failure !== undefined) rt.health.recordFailure(picked.index, s.failure);
  }
}

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
  for (const [k, v] of client.headers) if (!DROP_REQUEST_HEADERS.has(k)) out[k] = v.length === 1 ? (v[0] as string) : v.join(', ');
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

interface BuiltRequest {
  req: SerializedRequest;
  target: TargetConfig;
  model: string;
  tried: AttemptRecord;
  ctx: ReturnType<typeof buildAttemptContext>['ctx'];
}

/**
 * Synchronous unless the driver signs (Bedrock, Gemini's token): an unsigned attempt costs no promise and no
 * extra await in runAttempts, which resumes after every await (issue 10: the plugin server's CPU per request).
 */
function buildRequest(
  driver: ProviderDriver,
  prepared: PreparedTarget,
  parsed: ParsedBody,
  client: ClientRequest,
  rt: PluginRuntime,
  deps: AttemptDeps,
  baseHeaders: Record<string, string>,
): BuiltRequest | Promise<BuiltRequest> {
  const { ctx, target } = buildAttemptContext(prepared, parsed, client, rt.config);
  // A native llm_format request: the checks ran on its view (parsed.json), the driver gets the body as sent.
  const source = parsed.native ?? parsed.json;
  const up = driver.toRequest(source, ctx);
  up.url = mergeClientQuery(up.url, client);
  up.headers = assignOwn(assignOwn({}, baseHeaders), up.headers);
  const bodyAuth = target.auth?.param_location === 'body' && target.auth.param_name;
  // A driver that returns the client's own object (preserve) gets the client's bytes, as Kong sends them.
  const untouched = up.body === source;
  if (untouched && bodyAuth) up.body = assignOwn({}, source);
  // A passthrough body that named this target's model_alias goes upstream with model.name, not the alias.
  const alias = untouched ? aliasOf(prepared.config) : undefined;
  if (alias !== undefined && parsed.json.model === alias && ctx.model !== alias) {
    up.body = withOwn(up.body as Record<string, unknown>, { model: ctx.model });
  }
  applyAuth(up, target.auth, client);
  let body: Buffer | undefined;
  if (up.body === undefined) body = undefined;
  else if (untouched && up.body === source) body = parsed.raw;
  else if (Buffer.isBuffer(up.body)) body = up.body;
  else if (typeof up.body === 'string') body = Buffer.from(up.body);
  else body = Buffer.from(JSON.stringify(up.body));
  const req: SerializedRequest = { method: up.method, url: up.url, headers: up.headers, body };
  if (driver.sign) return driver.sign(req, ctx, deps.signDeps).then((signed) => builtRequest(signed, target, ctx));
  return builtRequest(req, target, ctx);
}

/** The attempt as sent (signed or not): what runAttempts calls and what it records as tried. */
function builtRequest(req: SerializedRequest, target: TargetConfig, ctx: BuiltRequest['ctx']): BuiltRequest {
  const model = ctx.model;
  return { req, target, model, tried: { target, model, url: req.url, body: req.body }, ctx };
}

/**
 * The attempt loop. Buffered (the default) never yields a stream; with `{ stream: true }` a 2xx becomes a
 * StreamResult once its first event was read.
 */
export function runAttempts(rt: PluginRuntime, client: ClientRequest, parsed: ParsedBody, deps: AttemptDeps, options?: AttemptOptions & { stream?: false }): Promise<BufferedResult>;
export function runAttempts(rt: PluginRuntime, client: ClientRequest, parsed: ParsedBody, deps: AttemptDeps, options: AttemptOptions): Promise<AttemptsResult>;
export async function runAttempts(
  rt: PluginRuntime,
  client: ClientRequest,
  parsed: ParsedBody,
  deps: AttemptDeps,
  options: AttemptOptions = {},
): Promise<AttemptsResult> {
  const stream = options.stream === true;
  const clientGone = options.clientGone;
  const tried = new Set<number>();
  const triedTargets: AttemptRecord[] = [];
  const hashKey = client.headers.get(rt.hashHeader)?.[0];
  const baseHeaders = forwardedRequestHeaders(client);
  const maxAttempts = rt.retries + 1;
  let last: BufferedResult | undefined;
  // semantic: the prompt's candidate groups, resolved once (one embeddings call) for every attempt.
  const semantic = rt.config.balancer.algorithm === 'semantic' ? await prepareSemanticPick(rt.config, parsed.json, deps.signDeps) : undefined;

  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    const exclude = withIneligible(rt.health.exclusions(tried), client.ineligible);
    const picked: BalancerTarget | undefined = rt.balancer.pick({ hashKey, exclude, semantic });
    if (!picked) {
      if (last) return last;
      // Over the targets this request may use: one it may not use is no reason to answer 500 instead of 429.
      const waitMs = rt.health.rateLimitedForMs?.(withIneligible(tried, client.ineligible));
      if (waitMs !== undefined) {
        throw new RateLimitedError(`every target is rate-limited by its provider; retry after ${Math.ceil(waitMs / 1000)}s`, { retryAfterMs: waitMs });
      }
      throw new NoHealthyTargetError('failed to get peer');
    }
    tried.add(picked.index);
    const prepared = rt.prepared[picked.index];
    let built: BuiltRequest;
    let driver: ProviderDriver;
    try {
      if (!prepared) throw new NoHealthyTargetError('failed to get peer');
      driver = driverForFormat(rt.config, deps.getDriver(prepared.config.model.provider));
      if (stream && !driver.createStreamTranslator) {
        throw new UnsupportedFeatureError(`provider ${driver.name} cannot stream responses yet; send stream: false`);
      }
      const b = buildRequest(driver, prepared, parsed, client, rt, deps, baseHeaders);
      built = b instanceof Promise ? await b : b;
    } catch (err) {
      settle(rt, picked, { ok: false });
      // A failover target that cannot take this request ends failover with the previous upstream answer.
      if (last && err instanceof AiProxyError) return last;
      throw err;
    }
    // Only the last attempt's body is ever logged (observability/record.ts), and only with log_payloads: keep no
    // other, so a request held for its stream's log phase does not hold every translated body.
    const previous = triedTargets[triedTargets.length - 1];
    if (previous) previous.body = undefined;
    if (built.target.logging?.log_payloads !== true) built.tried.body = undefined;
    triedTargets.push(built.tried);
    const { target, model } = built;
    const started = deps.now();
    // Every result below lists target, model, tried and sentAt itself rather than spreading one shared object:
    // on Node 20 a spread followed by more properties leaves V8's fast path (~3 µs per literal, assign-own.ts).
    const result = stream ? await deps.openStream(built.req, rt.timeouts, clientGone) : await deps.call(built.req, rt.timeouts);
    let latencyMs = deps.now() - started;
    const gone = (): BufferedResult => {
      settle(rt, picked, { ok: 'neutral' });
      return { kind: 'failure', target, model, tried: triedTargets, sentAt: started, failure: { kind: 'error' }, reason: 'the client went away' };
    };
    if (clientGone?.aborted) {
      if (result.ok && 'stream' in result.response) result.response.stream?.destroy();
      return gone();
    }

    let failure: AttemptFailure;
    let reason: string;
    if (!result.ok) {
      failure = result.failure;
      reason = result.message;
    } else if ('stream' in result.response && result.response.stream) {
      const res = result.response;
      const body = res.stream as NonNullable<typeof res.stream>;
      let translator: StreamTranslator;
      try {
        translator = (driver.createStreamTranslator as NonNullable<ProviderDriver['createStreamTranslator']>)(built.ctx);
      } catch (err) {
        body.destroy();
        settle(rt, picked, { ok: false, latencyMs });
        throw err;
      }
      const first = await readFirstEvent(body, translator, clientGone);
      if (first.kind === 'event') {
        let finished = false;
        const finish = (outcome: StreamOutcome): void => {
          if (finished) return;
          finished = true;
          const e2eMs = deps.now() - started;
          if (!outcome.ok) settle(rt, picked, { ok: false, latencyMs: e2eMs, failure: { kind: 'error' } });
          else if (outcome.complete) settle(rt, picked, { ok: true, latencyMs: e2eMs, usage: outcome.usage, cost: costOf(target, outcome.usage) });
          else settle(rt, picked, { ok: true, usage: outcome.usage, cost: costOf(target, outcome.usage) });
        };
        const lease: StreamLease = {
          status: res.status,
          headers: passedResponseHeaders(res.headers),
          first: first.frames,
          ended: first.ended,
          body,
          translator,
          finish,
        };
        return { kind: 'stream', target, model, tried: triedTargets, sentAt: started, lease };
      }
      body.destroy();
      if (first.kind === 'client-gone') return gone();
      latencyMs = deps.now() - started;
      if (first.kind === 'untranslatable') {
        // As a buffered 2xx that cannot be translated: the balancer hears of it, max_fails does not, no failover.
        settle(rt, picked, { ok: false, latencyMs });
        const message = first.error instanceof Error ? first.error.message : String(first.error);
        const error = first.error instanceof TranslationError ? first.error : new TranslationError(`${driver.name} stream: ${message}`, { cause: first.error });
        return { kind: 'translation-error', target, model, tried: triedTargets, sentAt: started, error };
      }
      // Broke before its first event: nothing reached the client, so this is an attempt failure like any other.
      const c = classifyUndiciError(first.error);
      failure = c.failure;
      reason = `${c.message}, before its first stream event`;
    } else {
      const res = result.response;
      const resBody = res.body ?? Buffer.alloc(0);
      if (res.status >= 200 && res.status < 300) {
        const headers = passedResponseHeaders(res.headers);
        if (res.status !== 200) {
          settle(rt, picked, { ok: true, latencyMs });
          return { kind: 'upstream-status', target, model, tried: triedTargets, sentAt: started, status: res.status, headers, body: resBody };
        }
        try {
          const tr = driver.fromResponse(res.status, res.headers, resBody, built.ctx);
          settle(rt, picked, { ok: true, latencyMs, usage: tr.usage, cost: costOf(target, tr.usage) });
          return {
            kind: 'success',
            target,
            model,
            tried: triedTargets,
            sentAt: started,
            status: 200,
            headers,
            body: tr.raw ?? tr.body,
            usage: tr.usage,
            responseModel: tr.model,
            rawResponse: resBody,
          };
        } catch (err) {
          settle(rt, picked, { ok: false, latencyMs });
          if (err instanceof TranslationError) return { kind: 'translation-error', target, model, tried: triedTargets, sentAt: started, error: err };
          throw err;
        }
      }
      const retryAfterMs = res.status === 429 || res.status === 503 ? parseRetryAfter(res.headers['retry-after'], deps.epochNow()) : undefined;
      failure = { kind: 'http', status: res.status, sent: true, retryAfterMs };
      const out = driver.fromError(res.status, res.headers, resBody, built.ctx);
      last = {
        kind: 'upstream-status',
        target,
        model,
        tried: triedTargets,
        sentAt: started,
        status: out.status,
        headers: assignOwn(passedResponseHeaders(res.headers), out.headers),
        body: out.body,
      };
      settle(rt, picked, { ok: false, latencyMs, failure });
      if (!rt.policy.shouldFailover(failure, built.req.method)) return last;
      continue;
    }
    last = { kind: 'failure', target, model, tried: triedTargets, sentAt: started, failure, reason };
    settle(rt, picked, { ok: false, latencyMs, failure });
    if (!rt.policy.shouldFailover(failure, built.req.method)) return last;
  }
  // retries exhausted: `last` is always set here because every loop iteration either returns or sets it.
  return last as BufferedResult;
}
