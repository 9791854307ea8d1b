/**
 * Kong's "one-shot request" cases (02-openai and 07-llama2 _integration_spec.lua) call a driver outside a proxied
 * request: `to_format`, `subrequest` (with the config's auth), `from_format`, as Kong's ai-request-transformer does.
 * Restated: the driver's toRequest, the engine's generic auth (applyAuth, with no client credentials) and the
 * engine's one provider call (callUpstream), then fromResponse / fromError on the answer.
 */
import assert from 'node:assert/strict';
import type { TargetConfig } from '../../schemas/config';
import { applyAuth } from '../../plugins/ai-proxy-advanced/engine/auth';
import type { ClientRequest } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { callUpstream } from '../../plugins/ai-proxy-advanced/engine/upstream';
import type { ProviderDriver, TranslateContext } from '../../plugins/ai-proxy-advanced/providers/provider';
import { makeCtx } from './providers-fixtures';

const NO_CLIENT: ClientRequest = { body: Buffer.alloc(0), headers: new Map(), path: '/', rawQuery: '', query: {}, method: 'POST', uriCaptures: {} };

export interface OneShotAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  ctx: TranslateContext;
}

export async function oneShot(driver: ProviderDriver, target: TargetConfig, request: Record<string, unknown>): Promise<OneShotAnswer> {
  const ctx = makeCtx(target);
  const up = driver.toRequest(structuredClone(request), ctx);
  applyAuth(up, target.auth, NO_CLIENT);
  const body = Buffer.isBuffer(up.body) ? up.body : Buffer.from(typeof up.body === 'string' ? up.body : JSON.stringify(up.body));
  const res = await callUpstream({ method: up.method, url: up.url, headers: up.headers, body }, { connectMs: 5000, readMs: 5000, writeMs: 5000 });
  assert.ok(res.ok, res.ok ? '' : res.message);
  return { ...res.response, ctx };
}
