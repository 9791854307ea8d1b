/**
 * The contract between the engine (request path, balancer, attempts) and the provider drivers.
 *
 * A driver is a set of pure translators per provider (envoy ai-gateway's "one translator per schema pair",
 * Kong's drivers/<provider>.lua to_format/from_format), plus an optional async `sign` step for credentials
 * that need I/O or the final body bytes (AWS SigV4, GCP OAuth). The engine never branches on the provider:
 * adding a provider means adding a driver and registering it in providers/index.ts.
 *
 * Pipeline per attempt (engine side):
 *   ctx = resolve templates on the picked target  →  driver.toRequest(body, ctx)
 *   → generic auth (auth.header_* / auth.param_* with allow_override, Kong's semantics)
 *   → serialize JSON body  →  driver.sign?(req, ctx, deps)  →  undici  →
 *   2xx: driver.fromResponse(...)   non-2xx: driver.fromError(...)   stream: driver.createStreamTranslator(ctx)
 */
import type { ProviderName, RouteType, TargetConfig } from '../../../schemas/config';

export interface TokenUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: Record<string, number>;
  completion_tokens_details?: Record<string, number>;
}

export type QueryValue = string | string[];

/** What a translator may know about one attempt. Everything is already resolved (templating done). */
export interface TranslateContext {
  /** The picked target, with `model.name` and every string in `model.options` template-resolved. */
  readonly target: TargetConfig;
  readonly provider: ProviderName;
  readonly routeType: RouteType;
  /** Resolved model name: config's, else the request's. */
  readonly model: string;
  /** Client asked for a stream (`stream: true`) or `response_streaming: always`. */
  readonly stream: boolean;
  /** The client's request path (after Kong's strip_path) and query, for `preserve` and native paths. */
  readonly clientPath: string;
  readonly clientQuery: Readonly<Record<string, QueryValue>>;
  /** The client's request method. */
  readonly clientMethod: string;
  /**
   * Client sent `stream_options.include_usage: true`: stream translators end with a usage frame before `[DONE]`.
   * Optional so callers that predate it keep compiling (added by #6).
   */
  readonly includeUsage?: boolean;
  /**
   * Streams: the request's prompt estimate (providers/streams/usage-estimate.ts), asked for only when the provider
   * reports no prompt tokens; absent, such a stream counts 0 prompt tokens.
   */
  readonly promptTokensEstimate?: () => number;
  /** Set for the route types passed through in OpenAI's own format (engine/route-types): what to send. */
  readonly passThrough?: PassThroughRequest;
}

/** A pass-through route type's request, decided by the engine the same for every provider. */
export interface PassThroughRequest {
  /**
   * The route type's own resource (`from`), the one the client path names (itself, or an alias such as the
   * Assistants API's `threads`) and what follows it, each segment checked and percent-encoded
   * (`/file-abc/content`, or '').
   */
  readonly operation: { readonly from: string; readonly resource: string; readonly rest: string };
  /** The client's JSON object (sent as its bytes when untouched), a multipart body, or nothing. */
  readonly body: Record<string, unknown> | Buffer | undefined;
}

/** A provider request before generic auth and serialization. */
export interface UpstreamRequest {
  method: string;
  /** Absolute URL: scheme://host[:port]/path[?query]. */
  url: string;
  /** Lower-case header names. Never contains secrets when returned by toRequest. */
  headers: Record<string, string>;
  /**
   * A plain object/array is JSON-serialized by the engine (after `auth.param_location: body` injection);
   * a Buffer or string is sent as is. `undefined` sends no body.
   */
  body: unknown;
}

/** A serialized request, as `sign` receives it: the body bytes are final. */
export interface SerializedRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

export interface TranslatedResponse {
  /** OpenAI-format response object (chat.completion, text_completion, embeddings list). */
  body: unknown;
  /**
   * The exact bytes to send when the provider's answer already is that OpenAI body (pass-through, as Kong's
   * openai driver returns the upstream string): the engine sends these instead of re-serializing `body`.
   */
  raw?: Buffer;
  usage: TokenUsage;
  /** Model reported by the provider, if any (analytics `response_model`). */
  model?: string;
}

/** What the client sees for a non-2xx provider answer. Kong passes provider-native bodies through untouched. */
export interface ClientErrorResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

export interface StreamTranslator {
  /** Feed raw upstream bytes in any chunking; returns complete client SSE frames (`data: {...}\n\n`). */
  push(chunk: Uint8Array): string[];
  /** Upstream ended: remaining frames, the usage frame when asked for, and `data: [DONE]\n\n`. */
  end(): string[];
  /** Usage so far (final after `end`). Estimated when the provider does not report it. */
  usage(): TokenUsage;
  /** Concatenated generated text so far (for `log_payloads`). */
  text(): string;
  /**
   * The last `finish_reason` of the OpenAI chunks the client got (Kong's composed stream answer logs it); the
   * native pass-through and wrapped formats have none.
   */
  finishReason?(): string | undefined;
  /**
   * Set by the `llm_format` pass-through (streams/pass-through.ts): the frames are the provider's own bytes as
   * latin1 strings (one character per byte, so binary AWS event-stream frames survive), written as latin1, and
   * the provider's content type goes to the client instead of `text/event-stream`.
   */
  readonly passThrough?: boolean;
}

/**
 * What the engine checks of a native (`llm_format` other than openai) request, as Kong's format adapters build
 * it (kong/llm/adapters/gemini.lua, bedrock.lua `to_kong_req`): the model the request names (path or body),
 * whether it asks for a stream, and its prompt as chat messages for Kong's prompt check, semantic routing and
 * the payload log. The native body itself goes to the provider untouched.
 */
export interface NativeRequestView {
  readonly model?: string;
  readonly stream: boolean;
  readonly messages: ReadonlyArray<{ role: string; content: string }>;
}

/** A provider's own API, served by `llm_format: <provider>` (providers/<provider>/native.ts). */
export interface NativeFormat {
  /**
   * The client's native body, path (after strip_path) and the route's named URI captures (read only when
   * `readsUriCaptures`) → what the engine checks. Throws InvalidRequestError.
   */
  read(body: Record<string, unknown>, clientPath: string, uriCaptures: Readonly<Record<string, string>>): NativeRequestView;
  /** Kong's adapter takes `model` / `operation` from the route's named captures before the path. */
  readonly readsUriCaptures?: boolean;
  /** The native body (`body`, returned as is unless the format must flag a forced stream) → provider request. */
  toRequest(body: Record<string, unknown>, ctx: TranslateContext): UpstreamRequest;
  /** The route type whose translators of this driver read its native answers (usage, model, generated text). */
  readonly answersAs: RouteType;
}

/** Injected I/O for `sign`: network, clock, environment. Tests pass local servers and fake clocks. */
export interface SignDeps {
  fetchJson(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: unknown }>;
  now(): number;
  env: Readonly<Record<string, string | undefined>>;
}

export interface ProviderDriver {
  readonly name: ProviderName;
  /** Route types this driver translates; any other gets UnsupportedFeatureError naming both. */
  readonly routeTypes: readonly RouteType[];
  /** OpenAI-format request body → provider request (URL, path, query, headers without secrets). Pure. */
  toRequest(body: Record<string, unknown>, ctx: TranslateContext): UpstreamRequest;
  /** Provider 2xx body → OpenAI format plus usage. Pure; throws TranslationError. */
  fromResponse(status: number, headers: Readonly<Record<string, string>>, body: Buffer, ctx: TranslateContext): TranslatedResponse;
  /** Provider non-2xx → what the client sees. Pure. */
  fromError(status: number, headers: Readonly<Record<string, string>>, body: Buffer, ctx: TranslateContext): ClientErrorResponse;
  /** Incremental stream translator, one per attempt. */
  createStreamTranslator?(ctx: TranslateContext): StreamTranslator;
  /** The provider's own API, for `llm_format: <name>`; absent: that format is refused at config time. */
  readonly native?: NativeFormat;
  /** Provider-specific credentials that need I/O or the final bytes (SigV4, GCP OAuth, Azure identity). */
  sign?(req: SerializedRequest, ctx: TranslateContext, deps: SignDeps): Promise<SerializedRequest>;
}
