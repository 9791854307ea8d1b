/**
 * The one place errors become client responses.
 *  - Errors Kong's ai-proxy answers itself (bad request, failed translation): Kong's `{"error":{"message"}}`.
 *  - Our own beyond-Kong errors (422, 429, config, auth): OpenAI-style `{"error":{"message","type","code"}}`.
 *  - All attempts failed without any upstream answer: what Kong's nginx error page would send
 *    (OSS kong/error_handlers.lua BODIES): 502 for error/invalid_header, 504 for timeout.
 *  - Anything unexpected: Kong's `{"message":"An unexpected error occurred"}` 500; detail goes to the log only.
 */
import {
  AiProxyError,
  InternalError,
  RateLimitedError,
  UpstreamConnectError,
  UpstreamError,
  UpstreamTimeoutError,
  type ErrorCode,
} from '../errors';
import type { AttemptFailure } from './failover';

export interface ClientResponse {
  status: number;
  body: Buffer | string | Record<string, unknown>;
  headers: Record<string, string>;
}

/** The bytes a response body goes out as: bytes and text as they are, anything else as JSON. */
export function wireBody(body: unknown): Buffer | string {
  return Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
}

/** Every error response names its code here too, whatever its body shape (docs/errors.md). */
export const ERROR_CODE_HEADER = 'x-ai-proxy-error-code';

const TYPES: Record<ErrorCode, string> = {
  AIPA_ERR_INVALID_REQUEST: 'invalid_request_error',
  AIPA_ERR_BODY_TOO_LARGE: 'invalid_request_error',
  AIPA_ERR_ACCESS_DENIED: 'permission_error',
  AIPA_ERR_UNSUPPORTED_FEATURE: 'unsupported_feature_error',
  AIPA_ERR_NO_HEALTHY_TARGET: 'api_error',
  AIPA_ERR_RATE_LIMITED: 'rate_limit_error',
  AIPA_ERR_UPSTREAM: 'api_error',
  AIPA_ERR_UPSTREAM_CONNECT: 'api_error',
  AIPA_ERR_UPSTREAM_TIMEOUT: 'api_error',
  AIPA_ERR_TRANSLATION: 'api_error',
  AIPA_ERR_CONFIG: 'configuration_error',
  AIPA_ERR_AUTH: 'api_error',
  AIPA_ERR_STREAM_TICKET: 'invalid_request_error',
  AIPA_ERR_INTERNAL: 'api_error',
  AIPA_ERR_EMBEDDINGS: 'api_error',
};

/** The client's response for any error: our own (userFacing) as documented, anything else as InternalError. */
export function errorResponse(err: unknown): ClientResponse {
  const e = err instanceof AiProxyError && err.userFacing ? err : new InternalError(undefined, { cause: err });
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', [ERROR_CODE_HEADER]: e.code };
  if (e instanceof RateLimitedError) headers['retry-after'] = String(e.retryAfterSeconds);
  const body =
    e.shape === 'kong'
      ? { message: e.message }
      : e.shape === 'kong-ai'
        ? { error: { message: e.message } }
        : { error: { message: e.message, type: TYPES[e.code], code: e.code } };
  return { status: e.status, body, headers };
}

/** The error for an attempt that got no usable answer: what nginx's error page says for the same failure. */
export function upstreamFailureError(failure: AttemptFailure, detail: string): AiProxyError {
  if (failure.kind === 'timeout') return new UpstreamTimeoutError(detail);
  if (failure.kind === 'error' && failure.sent === false) return new UpstreamConnectError(detail);
  return new UpstreamError(detail);
}
