/**
 * GCP access tokens for Gemini/Vertex when `auth.gcp_use_service_account` is set.
 *  - With a service-account key (auth.gcp_service_account_json, else env GCP_SERVICE_ACCOUNT): an RS256-signed JWT
 *    (RFC 7523) is exchanged at `auth.gcp_oauth_token_url` (else the key's token_uri, else Google's) for an
 *    access token.
 *  - Without a key: the metadata server (`auth.gcp_metadata_url`, else the GCE default) hands out the token of the
 *    attached service account.
 * Tokens are cached per credential and endpoint until 60 s before they expire; concurrent misses share one fetch.
 * Errors never include the key or the token, and client-facing messages never the token endpoint's URL.
 */
import { createSign } from 'node:crypto';
import type { AuthConfig } from '../../../../schemas/config';
import { AuthError, ConfigError } from '../../errors';
import type { SignDeps } from '../provider';

export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GCE_METADATA_TOKEN_URL = 'http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token';
const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
const SKEW_MS = 60_000;
const TOKEN = 'GCP token request (auth.gcp_oauth_token_url)';
const METADATA = 'GCP metadata token request (auth.gcp_metadata_url)';

interface ServiceAccount {
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

interface Cached {
  token: string;
  expiresAt: number;
}

const b64url = (v: Buffer | string): string => Buffer.from(v).toString('base64url');

export function parseServiceAccount(json: string): ServiceAccount {
  let sa: unknown;
  try {
    sa = JSON.parse(json);
  } catch {
    throw new ConfigError('auth.gcp_service_account_json is not valid JSON');
  }
  const o = sa as Partial<ServiceAccount> | null;
  if (!o || typeof o.client_email !== 'string' || typeof o.private_key !== 'string') {
    throw new ConfigError('auth.gcp_service_account_json needs client_email and private_key');
  }
  return o as ServiceAccount;
}

export function signServiceAccountJwt(sa: ServiceAccount, audience: string, nowMs: number): string {
  const iat = Math.floor(nowMs / 1000);
  const header: Record<string, string> = { alg: 'RS256', typ: 'JWT' };
  if (sa.private_key_id) header['kid'] = sa.private_key_id;
  const claims = { iss: sa.client_email, sub: sa.client_email, scope: SCOPE, aud: audience, iat, exp: iat + 3600 };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  let sig: Buffer;
  try {
    sig = createSign('RSA-SHA256').update(input).sign(sa.private_key);
  } catch {
    throw new ConfigError('auth.gcp_service_account_json private_key cannot sign (not a PEM RSA key)');
  }
  return `${input}.${b64url(sig)}`;
}

/**
 * AuthError is shown to the client: it names the setting, never the token endpoint (an operator's internal URL is
 * not the client's business). The URL rides in `cause`, for the logs.
 */
function tokenError(what: string, url: string, status: number | undefined, err?: unknown): AuthError {
  const detail = new Error(`${what} at ${url} ${status === undefined ? 'failed' : `answered status ${status}`}`, err === undefined ? undefined : { cause: err });
  return new AuthError(`${what} failed${status === undefined ? '' : ` with status ${status}`}`, { cause: detail });
}

function readToken(status: number, body: unknown, what: string, url: string, nowMs: number): Cached {
  const b = body as { access_token?: unknown; expires_in?: unknown } | null;
  if (status < 200 || status > 299 || !b || typeof b.access_token !== 'string') throw tokenError(what, url, status);
  const ttl = typeof b.expires_in === 'number' ? b.expires_in : 3600;
  return { token: b.access_token, expiresAt: nowMs + ttl * 1000 - SKEW_MS };
}

export class GcpTokenSource {
  private readonly cache = new Map<string, Cached>();
  private readonly inflight = new Map<string, Promise<Cached>>();

  async token(auth: AuthConfig, deps: SignDeps): Promise<string> {
    const json = auth.gcp_service_account_json ?? deps.env['GCP_SERVICE_ACCOUNT'];
    const sa = json ? parseServiceAccount(json) : undefined;
    const url = sa ? (auth.gcp_oauth_token_url ?? sa.token_uri ?? GOOGLE_TOKEN_URL) : (auth.gcp_metadata_url ?? GCE_METADATA_TOKEN_URL);
    const key = sa ? `sa:${sa.client_email}:${sa.private_key_id ?? ''}:${url}` : `md:${url}`;
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > deps.now()) return hit.token;
    let p = this.inflight.get(key);
    if (!p) {
      p = (sa ? this.exchange(sa, url, deps) : this.metadata(url, deps)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    const fresh = await p;
    this.cache.set(key, fresh);
    return fresh.token;
  }

  private async exchange(sa: ServiceAccount, url: string, deps: SignDeps): Promise<Cached> {
    const assertion = signServiceAccountJwt(sa, url, deps.now());
    const form = new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString();
    const res = await deps
      .fetchJson(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: form })
      .catch((err: unknown) => {
        throw tokenError(TOKEN, url, undefined, err);
      });
    return readToken(res.status, res.body, TOKEN, url, deps.now());
  }

  private async metadata(url: string, deps: SignDeps): Promise<Cached> {
    const res = await deps.fetchJson(url, { method: 'GET', headers: { 'metadata-flavor': 'Google' } }).catch((err: unknown) => {
      throw tokenError(METADATA, url, undefined, err);
    });
    return readToken(res.status, res.body, METADATA, url, deps.now());
  }
}
