/**
 * The one place errors become client responses.
 *  - Our own request/config errors: OpenAI-style `{"error":{"message","type"}}` with Kong's message texts.
 *  - All attempts failed without any upstream answer: what Kong's nginx error page would send
 *    (OSS kong/error_handlers.lua BODIES): 502 for error/invalid_header, 504 for timeout.
 *  - Anything unexpected: Kong's `{"message":"An unexpected error occurred"}` 500; detail goes to the log only.
 */
import { AiProxyError, RateLimitedError, type ErrorCode } from '../errors';
import type { FailureKind } from './failover';

export interface ClientResponse {
  status: number;
  body: Buffer | string | Record<string, unknown>;
  headers: Record<string, string>;
}

/** The bytes a response body goes out as: bytes and text as they are, anything else as JSON. */
export function wireBody(body: unknown): Buffer | string {
  return Buffer.isBuffer(body) || typeof body === 'string' ? body : JSON.stringify(body);
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

const TYPES: Record<ErrorCode, string> = {
  AIPA_ERR_INVALID_REQUEST: 'invalid_request_error',
  AIPA_ERR_BODY_TOO_LARGE: 'invalid_request_error',
  AIPA_ERR_UNSUPPORTED_FEATURE: 'unsupported_feature_error',
  AIPA_ERR_NO_HEALTHY_TARGET: 'api_error',
  AIPA_ERR_RATE_LIMITED: 'rate_limit_error',
  AIPA_ERR_UPSTREAM: 'api_error',
  AIPA_ERR_TRANSLATION: 'api_error',
  AIPA_ERR_CONFIG: 'configuration_error',
  AIPA_ERR_AUTH: 'api_error',
  AIPA_ERR_EMBEDDINGS: 'api_error',
};

export function errorResponse(err: unknown): ClientResponse {
  if (err instanceof AiProxyError && err.userFacing) {
    const headers: Record<string, string> = { ...JSON_HEADERS };
    if (err instanceof RateLimitedError) headers['retry-after'] = String(err.retryAfterSeconds);
    return { status: err.status, body: { error: { message: err.message, type: TYPES[err.code] } }, headers };
  }
  return { status: 500, body: { message: 'An unexpected error occurred' }, headers: { ...JSON_HEADERS } };
}

export function upstreamFailureResponse(kind: FailureKind): ClientResponse {
  if (kind === 'timeout') return { status: 504, body: { message: 'The upstream server is timing out' }, headers: { ...JSON_HEADERS } };
  return { status: 502, body: { message: 'An invalid response was received from the upstream server' }, headers: { ...JSON_HEADERS } };
}
