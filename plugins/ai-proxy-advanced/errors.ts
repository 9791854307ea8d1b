/**
 * Typed errors with stable codes. Pure modules (balancers, translators, schema) throw these; only the phase
 * boundary (handler) turns one into a response, in one place. Codes follow undici/fastify's pattern and are
 * listed in docs/errors.md.
 *
 * `userFacing` errors carry a message safe to show the client; the others log full detail and answer with a
 * generic message. No error message may ever contain a provider key.
 */

export type ErrorCode =
  | 'AIPA_ERR_INVALID_REQUEST'
  | 'AIPA_ERR_BODY_TOO_LARGE'
  | 'AIPA_ERR_UNSUPPORTED_FEATURE'
  | 'AIPA_ERR_NO_HEALTHY_TARGET'
  | 'AIPA_ERR_RATE_LIMITED'
  | 'AIPA_ERR_UPSTREAM'
  | 'AIPA_ERR_TRANSLATION'
  | 'AIPA_ERR_CONFIG'
  | 'AIPA_ERR_AUTH'
  | 'AIPA_ERR_EMBEDDINGS';

export interface AiProxyErrorOptions {
  cause?: unknown;
  status?: number;
}

export class AiProxyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly userFacing: boolean;

  constructor(code: ErrorCode, message: string, status: number, userFacing: boolean, options: AiProxyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? status;
    this.userFacing = userFacing;
  }
}

/** The client sent something we cannot serve (bad JSON, wrong model, bad template input): 400. */
export class InvalidRequestError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_INVALID_REQUEST', message, 400, true, options);
  }
}

/** Request body exceeds max_request_body_size: 413. */
export class BodyTooLargeError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_BODY_TOO_LARGE', message, 413, true, options);
  }
}

/** A valid config or request asks for something this implementation does not do (yet): named, never ignored. */
export class UnsupportedFeatureError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_UNSUPPORTED_FEATURE', message, 422, true, options);
  }
}

/** No target can be picked (all tried, all circuit-broken, no semantic match): Kong answers 500. */
export class NoHealthyTargetError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_NO_HEALTHY_TARGET', message, 500, true, options);
  }
}

/**
 * Every target that could serve is held back by its provider's Retry-After (beyond Kong, which would answer
 * 500 "failed to get peer"): 429 with the Retry-After the providers asked for.
 */
export class RateLimitedError extends AiProxyError {
  readonly retryAfterSeconds: number;

  constructor(message: string, details: { retryAfterMs: number }, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_RATE_LIMITED', message, 429, true, options);
    this.retryAfterSeconds = Math.max(1, Math.ceil(details.retryAfterMs / 1000));
  }
}

export type UpstreamFailureKind = 'error' | 'timeout' | 'invalid_header' | 'http';

/** One failed upstream attempt. `status` is the provider's HTTP status for kind 'http'. */
export class UpstreamError extends AiProxyError {
  readonly kind: UpstreamFailureKind;
  readonly provider: string;
  readonly upstreamStatus: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    message: string,
    details: { kind: UpstreamFailureKind; provider: string; upstreamStatus?: number; retryAfterMs?: number },
    options: AiProxyErrorOptions = {},
  ) {
    super('AIPA_ERR_UPSTREAM', message, 502, false, options);
    this.kind = details.kind;
    this.provider = details.provider;
    this.upstreamStatus = details.upstreamStatus;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/** A provider answered 2xx with something we cannot translate: Kong's "transformation failed" 500. */
export class TranslationError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_TRANSLATION', message, 500, true, options);
  }
}

/** The plugin config is invalid for a rule the schema could not express, or references a missing secret. */
export class ConfigError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_CONFIG', message, 500, true, options);
  }
}

/** Getting provider credentials failed (token endpoint, signing): never includes the secret itself. */
export class AuthError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_AUTH', message, 500, true, options);
  }
}

/**
 * The semantic balancer's embeddings call failed (connect error, timeout, non-2xx, no vector) and no CATCHALL
 * target can take the request: Kong answers 500. The message names the embeddings call, never its auth.
 */
export class EmbeddingsError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_EMBEDDINGS', message, 500, true, options);
  }
}
