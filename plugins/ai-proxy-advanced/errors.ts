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
  | 'AIPA_ERR_ACCESS_DENIED'
  | 'AIPA_ERR_UNSUPPORTED_FEATURE'
  | 'AIPA_ERR_NO_HEALTHY_TARGET'
  | 'AIPA_ERR_RATE_LIMITED'
  | 'AIPA_ERR_UPSTREAM'
  | 'AIPA_ERR_UPSTREAM_CONNECT'
  | 'AIPA_ERR_UPSTREAM_TIMEOUT'
  | 'AIPA_ERR_TRANSLATION'
  | 'AIPA_ERR_CONFIG'
  | 'AIPA_ERR_AUTH'
  | 'AIPA_ERR_EMBEDDINGS'
  | 'AIPA_ERR_STREAM_TICKET'
  | 'AIPA_ERR_INTERNAL';

/**
 * The body a client gets:
 *  - 'kong-ai': `{"error":{"message"}}`, exactly what Kong's ai-proxy sends for the same failure (normalize-request
 *    `bail(400, msg)`, normalize-json-response's 500 for a failed from_format), no `type`, no `code`;
 *  - 'openai': `{"error":{"message","type","code"}}` for the failures Kong has no answer of its own for (beyond
 *    Kong: 422 unsupported, 429 Retry-After, configuration and credential errors), in OpenAI's error shape;
 *  - 'kong': the body Kong's own error pages send, `{"message"}` (kong/error_handlers.lua BODIES).
 * The code is in the X-AI-Proxy-Error-Code header of every error response, whatever the shape.
 */
export type ErrorBodyShape = 'openai' | 'kong' | 'kong-ai';

export interface AiProxyErrorOptions {
  cause?: unknown;
  status?: number;
}

export class AiProxyError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly userFacing: boolean;
  readonly shape: ErrorBodyShape;

  constructor(code: ErrorCode, message: string, status: number, userFacing: boolean, options: AiProxyErrorOptions = {}, shape: ErrorBodyShape = 'openai') {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options.status ?? status;
    this.userFacing = userFacing;
    this.shape = shape;
  }
}

/** The client sent something we cannot serve (bad JSON, wrong model, bad template input): 400. */
export class InvalidRequestError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_INVALID_REQUEST', message, 400, true, options, 'kong-ai');
  }
}

/**
 * `config.acls` leaves no target this request may use (a deny rule matched, or allow rules exist and none
 * matched): 403, as Kong's ACL answers (kong/plugins/acl/handler.lua) and as the 3.14 changelog's "blocks
 * requests". Never says which rule matched: the rules are the operator's, not the client's, business.
 */
export class AccessDeniedError extends AiProxyError {
  constructor(message = 'request denied by acls', options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_ACCESS_DENIED', message, 403, true, options, 'kong-ai');
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

/**
 * Every attempt failed (or failover stopped) and the last one got no usable answer from its provider. The three
 * classes are the three bodies nginx's error page would give for the same failure (Kong's proxy_next_upstream
 * exhausted): a connect failure and a broken or invalid answer are 502, a timeout 504. The message is Kong's
 * fixed text (what the client sees); `detail` says what happened, for the log only.
 */
abstract class UpstreamFailureError extends AiProxyError {
  readonly detail: string;

  constructor(code: ErrorCode, kongMessage: string, status: number, detail: string, options: AiProxyErrorOptions = {}) {
    super(code, kongMessage, status, true, options, 'kong');
    this.detail = detail;
  }
}

/** The provider's connection broke after the request was (maybe) sent, or it answered something not HTTP: 502. */
export class UpstreamError extends UpstreamFailureError {
  constructor(detail: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_UPSTREAM', 'An invalid response was received from the upstream server', 502, detail, options);
  }
}

/** No connection to the provider could be made (refused, unresolvable, unreachable): nothing was sent. 502. */
export class UpstreamConnectError extends UpstreamFailureError {
  constructor(detail: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_UPSTREAM_CONNECT', 'An invalid response was received from the upstream server', 502, detail, options);
  }
}

/** connect_timeout, write_timeout or read_timeout ran out: 504. */
export class UpstreamTimeoutError extends UpstreamFailureError {
  constructor(detail: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_UPSTREAM_TIMEOUT', 'The upstream server is timing out', 504, detail, options);
  }
}

/**
 * A provider answered 2xx with something we cannot translate: Kong's 500. The drivers throw the reason; the
 * registry (providers/index.ts) adds Kong's `transformation failed from type <provider>://<route_type>: ` prefix.
 */
export class TranslationError extends AiProxyError {
  constructor(message: string, options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_TRANSLATION', message, 500, true, options, 'kong-ai');
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

/** The stream endpoint was asked for a ticket it never issued, or one already used or expired: 404. */
export class StreamTicketError extends AiProxyError {
  constructor(message = 'unknown or already used stream ticket', options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_STREAM_TICKET', message, 404, true, options);
  }
}

/**
 * Anything that is not one of the errors above (a bug, an unexpected exception): Kong's generic 500 body; the
 * cause goes to the log only, never to the client.
 */
export class InternalError extends AiProxyError {
  constructor(message = 'An unexpected error occurred', options: AiProxyErrorOptions = {}) {
    super('AIPA_ERR_INTERNAL', message, 500, true, options, 'kong');
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
