/**
 * The embeddings call: one undici request per text, to `embeddings.model.options.upstream_url` or the provider's
 * URL, with `embeddings.auth` applied as Kong's drivers apply a target's auth (engine/auth.ts, no client override
 * since no client value belongs in this call), then the provider's credentials. The answer must hold a vector of
 * exactly `vectordb.dimensions` numbers. Errors name the provider and the URL without its query (a `key`
 * parameter may live there) and never the auth values.
 */
import type { EmbeddingsConfig } from '../../../../schemas/config';
import { applyAuth } from '../../engine/auth';
import { boundedRequest } from '../../engine/bounded-request';
import type { ClientRequest } from '../../engine/pdk';
import { AiProxyError, EmbeddingsError } from '../../errors';
import type { SerializedRequest, SignDeps, UpstreamRequest } from '../../providers/provider';
import { toVector } from '../vector';
import { azure } from './azure';
import { bedrock } from './bedrock';
import type { EmbeddingsDriver } from './driver';
import { gemini } from './gemini';
import { huggingface } from './huggingface';
import { mistral } from './mistral';
import { ollama } from './ollama';
import { openai } from './openai';

const DRIVERS: Record<EmbeddingsConfig['model']['provider'], EmbeddingsDriver> = { openai, azure, mistral, gemini, bedrock, huggingface, ollama };

/** Largest embeddings answer read: 1536 floats as JSON text are ~30 KB; 8 MB leaves room for any real model. */
export const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

/** The HTTP call, injected so tests and benches can count or replace it. */
export type HttpCall = (req: SerializedRequest, timeoutMs: number) => Promise<{ status: number; body: Buffer }>;

export const undiciCall: HttpCall = (req, timeoutMs) => boundedRequest(req.url, req, timeoutMs, MAX_ANSWER_BYTES);

export interface EmbedderDeps {
  call: HttpCall;
  signDeps: SignDeps;
  timeoutMs: number;
}

export interface Embedder {
  /** The URL without its query: what the prompt-vector cache key and error messages use. */
  readonly url: string;
  readonly model: string;
  readonly provider: string;
  embed(text: string): Promise<Float32Array>;
}

const NO_CLIENT: ClientRequest = {
  body: Buffer.alloc(0),
  headers: new Map(),
  path: '/',
  rawQuery: '',
  query: {},
  method: 'POST',
  uriCaptures: {},
};

function publicUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

export function createEmbedder(config: EmbeddingsConfig, dimensions: number, deps: EmbedderDeps): Embedder {
  const driver = DRIVERS[config.model.provider];
  if (!driver) throw new EmbeddingsError(`unknown embeddings.model.provider '${String(config.model.provider)}'`);
  const fullUrl = config.model.options?.upstream_url ?? driver.defaultUrl(config.model);
  const where = `embeddings call (${config.model.provider} ${publicUrl(fullUrl)})`;
  return {
    url: publicUrl(fullUrl),
    model: config.model.name,
    provider: config.model.provider,
    async embed(text) {
      const up: UpstreamRequest = {
        method: 'POST',
        url: fullUrl,
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: driver.body(text, config.model, dimensions),
      };
      applyAuth(up, config.auth, NO_CLIENT);
      let req: SerializedRequest = { method: up.method, url: up.url, headers: up.headers, body: Buffer.from(JSON.stringify(up.body)) };
      let res: { status: number; body: Buffer };
      try {
        if (driver.sign) req = await driver.sign(req, config, deps.signDeps);
        res = await deps.call(req, deps.timeoutMs);
      } catch (err) {
        const why = err instanceof AiProxyError ? err.message : ((err as { name?: string })?.name === 'TimeoutError' ? `timed out after ${deps.timeoutMs} ms` : ((err as Error)?.message ?? String(err)));
        throw new EmbeddingsError(`${where} failed: ${why}`, { cause: err });
      }
      if (res.status < 200 || res.status > 299) throw new EmbeddingsError(`${where} answered HTTP ${res.status}`);
      let answer: unknown;
      try {
        answer = JSON.parse(res.body.toString('utf8'));
      } catch {
        throw new EmbeddingsError(`${where} answered something that is not JSON`);
      }
      return toVector(driver.vector(answer), dimensions, where);
    },
  };
}
