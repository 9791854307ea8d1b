/** Test helpers for the provider translators (#6): fixture paths, translate contexts, chunked feeding. */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RouteType, TargetConfig } from '../../schemas/config';
import type { StreamTranslator, TranslateContext } from '../../plugins/ai-proxy-advanced/providers/provider';

/** spec/fixtures/providers, from the compiled dist/spec/helpers location or the source tree. */
export const PROVIDER_FIXTURES = (() => {
  for (const up of ['../../../spec/fixtures/providers', '../../spec/fixtures/providers']) {
    const p = path.resolve(__dirname, up);
    try {
      if (statSync(p).isDirectory()) return p;
    } catch {
      // try the next candidate
    }
  }
  throw new Error('spec/fixtures/providers not found');
})();

export function fixturePath(rel: string): string {
  return path.join(PROVIDER_FIXTURES, rel);
}

export function readFixture(rel: string): Buffer {
  return readFileSync(fixturePath(rel));
}

export function readJsonFixture<T = unknown>(rel: string): T {
  return JSON.parse(readFixture(rel).toString('utf8')) as T;
}

export function caseDirs(group: string): string[] {
  return readdirSync(fixturePath(group))
    .filter((d) => statSync(fixturePath(path.join(group, d))).isDirectory())
    .sort();
}

export function makeCtx(target: TargetConfig, over: Partial<TranslateContext> = {}, requestModel?: string): TranslateContext {
  return {
    target,
    provider: target.model.provider,
    routeType: target.route_type as RouteType,
    model: target.model.name ?? requestModel ?? '',
    stream: false,
    clientPath: '/',
    clientQuery: {},
    clientMethod: 'POST',
    ...over,
  };
}

export function target(provider: TargetConfig['model']['provider'], routeType: RouteType, name: string, options: Record<string, unknown> = {}, auth?: TargetConfig['auth']): TargetConfig {
  return { route_type: routeType, model: { provider, name, options }, ...(auth ? { auth } : {}) };
}

/** Feed `parts` through a fresh translator and return everything it wrote, `end()` included. */
export function runStream(make: () => StreamTranslator, parts: Uint8Array[]): { out: string; translator: StreamTranslator } {
  const t = make();
  const frames: string[] = [];
  for (const p of parts) frames.push(...t.push(p));
  frames.push(...t.end());
  return { out: frames.join(''), translator: t };
}

export function splitAt(buf: Buffer, at: number): Buffer[] {
  return [buf.subarray(0, at), buf.subarray(at)];
}

export function bytewise(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1));
  return out;
}

/** Read a dotted path like `choices.0.message`. */
export function pick(obj: unknown, dotted: string): unknown {
  let v: unknown = obj;
  for (const k of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[k];
  }
  return v;
}

/** A provider stream fixture's case.json (spec/fixtures/providers/streams/<case>). */
export interface StreamCase {
  target: TargetConfig;
  /** One file, or several concatenated (Kong's Bedrock chunks). */
  stream_input: string | string[];
  /** `base64` when the files hold base64 text of the bytes. */
  input_encoding?: 'base64';
  include_usage?: boolean;
  /** The usage the translator reports at the end: the provider's counts, else Kong's word estimate. */
  expected_usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

/** The provider's stream bytes of a stream case. */
/** The client request a stream case answers (spec/engine/stream-providers.test.ts sends it), with `stream` and usage. */
export function streamRequest(c: StreamCase): Record<string, unknown> {
  const body: Record<string, unknown> =
    c.target.route_type === 'llm/v1/completions' ? { prompt: 'Say hello', stream: true } : { messages: [{ role: 'user', content: 'Say hello' }], stream: true };
  if (c.include_usage) body.stream_options = { include_usage: true };
  return body;
}

export function streamInput(c: StreamCase): Buffer {
  const files = Array.isArray(c.stream_input) ? c.stream_input : [c.stream_input];
  return Buffer.concat(files.map((f) => (c.input_encoding === 'base64' ? Buffer.from(readFixture(f).toString('ascii'), 'base64') : readFixture(f))));
}
