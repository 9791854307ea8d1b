/**
 * The record of one handled request, made where its numbers are known: at the end of the attempt loop
 * (buffered; also a streamed request that never got a stream) or at the end of the stream. It yields the
 * `ai.proxy` block in Kong's shape (engine/analytics.ts) and feeds the metrics from that same block, so the
 * log entry and the metrics cannot disagree. The balancers are fed at the same points, by attempts.ts, from the
 * same latency/usage numbers.
 *
 * A streamed request's record is kept by its stream ticket until the plugin's log phase claims it
 * (observability/log-phase.ts): Kong's log phase reports the request after the stream ended.
 */
import type { PluginConfig, TargetConfig } from '../../../schemas/config';
import type { TokenUsage } from '../providers/provider';
import { aiProxyBlock, type AiProxyBlock, type AttemptRecord } from '../engine/analytics';
import { TICKET_TTL_MS } from '../engine/stream-endpoint';
import { pluginMetrics, type AiMetrics } from './metrics';

/** What a finished attempt loop tells the record (a subset of AttemptsResult). */
export interface OutcomeOf {
  kind: string;
  target: TargetConfig;
  model: string;
  tried: readonly AttemptRecord[];
  usage?: TokenUsage | undefined;
  responseModel?: string | undefined;
}

export interface Outcome {
  config: PluginConfig;
  result: OutcomeOf;
  mode: 'oneshot' | 'stream';
  /** Request start (access) to the end of the answer. */
  latencyMs: number;
  ttftMs?: number | undefined;
  usage?: TokenUsage | undefined;
  responseModel?: string | undefined;
  responseBody?: Buffer | string | undefined;
}

/** Kong's prometheus plugin labels AI metrics with the workspace name; the plugin cannot see it without an RPC. */
const WORKSPACE = 'default';

/** Builds the block and feeds the metrics; returns the block (undefined: the target does not log statistics). */
export function recordOutcome(o: Outcome, metrics: AiMetrics = pluginMetrics()): AiProxyBlock | undefined {
  const r = o.result;
  const success = r.kind === 'success';
  const block = aiProxyBlock({
    pluginId: o.config.__plugin_id,
    target: r.target,
    requestModel: r.model,
    responseModel: o.responseModel ?? (success ? r.responseModel : undefined),
    latencyMs: o.latencyMs,
    // Streams only: a oneshot answer's first token comes with the whole answer (= llm_latency), and Kong OSS's
    // expected oneshot stats (spec/03-plugins/38-ai-proxy/02-openai_integration_spec.lua) have no such key.
    ttftMs: o.ttftMs,
    mode: o.mode,
    usage: o.usage ?? (success ? r.usage : undefined),
    tried: r.tried,
    requestBody: r.tried[r.tried.length - 1]?.body,
    responseBody: o.responseBody,
  });
  if (block) metrics.observe(block, WORKSPACE);
  if (r.tried.length > 1) metrics.failedOver(o.config.__plugin_id ?? '', r.tried.map((t) => ({ provider: t.target.model.provider, model: t.model })));
  return block;
}

/**
 * What Kong logs as a stream's `payload.response`: the `chat.completion` its normalize-sse-chunk.lua composes at
 * the end of the stream (the streamed text as the message, the last finish reason, the text again as `response`,
 * the usage counts). Kong leaves `model` out ("TODO: populate this") and so logs the request's model as
 * `response_model`; the model the chunks named is filled in here (docs/providers.md "Streamed analytics").
 */
export function composedStreamAnswer(text: string, finishReason: string | undefined, model: string | undefined, usage: TokenUsage | undefined): string {
  const prompt = usage?.prompt_tokens ?? 0;
  const completion = usage?.completion_tokens ?? 0;
  // JSON.stringify leaves out a key whose value is undefined: no finish reason or model, no key.
  return JSON.stringify({
    choices: [{ finish_reason: finishReason, index: 0, logprobs: null, message: { role: 'assistant', content: text } }],
    model,
    object: 'chat.completion',
    response: text,
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: usage?.total_tokens ?? prompt + completion },
  });
}

/** `"model":"…"` of the first OpenAI chunk: the model the provider answered with, in Kong's terms. */
const MODEL_IN_FRAME = /"model"\s*:\s*"((?:[^"\\]|\\.)*)"/;

/** One streamed request, from access to the end of its stream. */
export class StreamRecord {
  readonly done: Promise<AiProxyBlock | undefined>;
  private resolve!: (b: AiProxyBlock | undefined) => void;
  private firstFrameAt: number | undefined;
  private streamedModel: string | undefined;
  private finished = false;
  settledAt: number | undefined;

  constructor(
    readonly config: PluginConfig,
    /** deps.now() at the start of access. */
    readonly startedAt: number,
    private readonly now: () => number,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  /** Frames are about to be written to the client: the first ones time the first token and name the model. */
  frames(frames: readonly string[]): void {
    if (this.firstFrameAt !== undefined || frames.length === 0) return;
    this.firstFrameAt = this.now();
    for (const f of frames) {
      const m = MODEL_IN_FRAME.exec(f);
      if (m) {
        try {
          this.streamedModel = JSON.parse(`"${m[1]}"`) as string;
        } catch {
          this.streamedModel = undefined;
        }
        break;
      }
    }
  }

  /** The request ended without any analytics (a request error before any provider answered). */
  abandon(): void {
    this.settle(undefined);
  }

  /** The attempts ended without a stream (all failed, a provider error status): recorded as the buffered path does. */
  answered(result: OutcomeOf, responseBody: Buffer | string | undefined): void {
    if (this.finished) return;
    this.settle(recordOutcome({ config: this.config, result, mode: 'stream', latencyMs: this.now() - this.startedAt, responseBody }));
  }

  /** The stream ended (complete, cut by the provider, or the client left): usage, text and finish reason so far. */
  streamed(result: OutcomeOf, usage: TokenUsage | undefined, text: string, finishReason?: string): void {
    if (this.finished) return;
    const end = this.now();
    const logged = result.target.logging?.log_payloads === true;
    this.settle(
      recordOutcome({
        config: this.config,
        result,
        mode: 'stream',
        latencyMs: end - this.startedAt,
        ttftMs: this.firstFrameAt === undefined ? undefined : this.firstFrameAt - this.startedAt,
        usage,
        responseModel: this.streamedModel,
        responseBody: logged ? composedStreamAnswer(text, finishReason, this.streamedModel, usage) : undefined,
      }),
    );
  }

  private settle(block: AiProxyBlock | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.settledAt = this.now();
    this.resolve(block);
  }

  /** The block once the stream ended, or undefined after `waitMs` (a client that left before Kong logged). */
  settled(waitMs: number): Promise<AiProxyBlock | undefined> {
    if (this.finished) return this.done;
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(undefined), waitMs);
      void this.done.then((b) => {
        clearTimeout(t);
        resolve(b);
      });
    });
  }
}

/**
 * Stream records waiting for their log phase, by stream ticket. Bounded: at most `max` are kept; a record whose
 * stream ended is dropped `settledTtlMs` after that (Kong logs right after the response; the same 60 s a stream
 * ticket lives, stream-endpoint.ts TICKET_TTL_MS), since it holds the finished block (with payloads when logged);
 * one whose stream never ended nor started holds no body and goes after `ttlMs`.
 */
export class PendingStreams {
  private readonly byTicket = new Map<string, { record: StreamRecord; addedAt: number }>();
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly now: () => number = () => performance.now(),
    private readonly ttlMs = 300_000,
    private readonly max = 100_000,
    private readonly settledTtlMs = TICKET_TTL_MS,
  ) {}

  get size(): number {
    return this.byTicket.size;
  }

  add(ticket: string, record: StreamRecord): void {
    const t = this.now();
    // Insertion order is age order: drop the stale or surplus head.
    for (const [k, v] of this.byTicket) {
      if (t - v.addedAt < this.ttlMs && this.byTicket.size < this.max) break;
      this.byTicket.delete(k);
    }
    // Ended streams can sit behind a live one: a full pass, at most once a second.
    if (t - this.sweptAt >= 1000) {
      this.sweptAt = t;
      for (const [k, v] of this.byTicket) if (v.record.settledAt !== undefined && t - v.record.settledAt >= this.settledTtlMs) this.byTicket.delete(k);
    }
    this.byTicket.set(ticket, { record, addedAt: t });
  }

  /**
   * Streams that ended less than `withinMs` ago and whose log phase has not come yet: Kong sends it right after
   * the response, so a plugin server being stopped waits for these (older ones Kong will likely never log).
   */
  awaitingLog(withinMs: number): number {
    const t = this.now();
    let n = 0;
    for (const { record } of this.byTicket.values()) if (record.settledAt !== undefined && t - record.settledAt < withinMs) n++;
    return n;
  }

  take(ticket: string): StreamRecord | undefined {
    const e = this.byTicket.get(ticket);
    if (e) this.byTicket.delete(ticket);
    return e?.record;
  }
}

/** The process's pending stream records. */
export const pendingStreams = new PendingStreams();
