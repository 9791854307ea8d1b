/**
 * One embeddings provider (`embeddings.model.provider`): where to send one text, the JSON body, and where the
 * vector is in the answer. Auth (`embeddings.auth` header/query/body params) is applied by embedder.ts with the
 * engine's applyAuth; provider credentials (SigV4, GCP service account) by the driver's `sign`.
 */
import type { EmbeddingsConfig } from '../../../../schemas/config';
import type { SerializedRequest, SignDeps } from '../../providers/provider';

export type EmbeddingsModel = EmbeddingsConfig['model'];

export interface EmbeddingsDriver {
  /** The provider's URL for this model when `options.upstream_url` is not set. */
  defaultUrl(model: EmbeddingsModel): string;
  /** The request body embedding `text` into `dimensions` numbers. */
  body(text: string, model: EmbeddingsModel, dimensions: number): Record<string, unknown>;
  /** The vector in a 2xx answer (any JSON; validated by the caller). */
  vector(answer: unknown): unknown;
  /** Provider credentials added after the body is final (SigV4 signs the bytes). */
  sign?(req: SerializedRequest, config: EmbeddingsConfig, deps: SignDeps): Promise<SerializedRequest>;
}

/** `a.b.c` of an unknown JSON value, or undefined. */
export function dig(v: unknown, ...path: (string | number)[]): unknown {
  let cur = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}
