/**
 * Generic auth from `targets[].auth`, exactly as Kong's drivers do it (OSS kong/llm/drivers/openai.lua
 * configure_request, normalize-request.lua for the body): the configured header / query parameter / body field
 * is set unless the client already sent one AND `allow_override` is true — only then the client's value wins.
 * Provider-specific credentials (SigV4, GCP, Azure identity) are the driver's `sign` step, not this.
 */
import type { AuthConfig } from '../../../schemas/config';
import { UnsupportedFeatureError } from '../errors';
import type { UpstreamRequest } from '../providers/provider';
import type { ClientRequest } from './pdk';

/** Mutates `req` (a fresh object per attempt). */
export function applyAuth(req: UpstreamRequest, auth: AuthConfig | null | undefined, client: ClientRequest): void {
  if (!auth) return;
  const override = auth.allow_override === true;
  if (auth.azure_use_managed_identity === true) {
    throw new UnsupportedFeatureError('auth.azure_use_managed_identity is not supported by this version of ai-proxy-advanced');
  }
  const hName = auth.header_name;
  const hValue = auth.header_value;
  if (hName && hValue != null) {
    const key = hName.toLowerCase();
    if (!(override && client.headers.has(key))) req.headers[key] = hValue; // verbatim, as Kong sends it (no scheme added)
  }
  const pName = auth.param_name;
  const pValue = auth.param_value;
  if (!pName || pValue == null) return;
  if (auth.param_location === 'query') {
    if (!(override && client.query[pName] !== undefined)) {
      const url = new URL(req.url);
      url.searchParams.set(pName, pValue);
      req.url = url.toString();
    }
  } else if (auth.param_location === 'body') {
    const body = req.body;
    if (body && typeof body === 'object' && !Array.isArray(body) && !Buffer.isBuffer(body)) {
      const obj = body as Record<string, unknown>;
      if (obj[pName] == null || !override) obj[pName] = pValue;
    }
  }
}
