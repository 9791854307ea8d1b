/**
 * A local OpenAI-shaped `/v1/embeddings` answer with deterministic LEXICAL vectors (not semantic): a hashed bag of
 * words. Each lower-cased word (stop words dropped) adds 1 at sha256(word) mod dimensions. Two texts are close
 * exactly when they share words, so tests can say which description a prompt matches by its words.
 */
import { createHash } from 'node:crypto';
import type { Behaviour, RecordedRequest } from './engine-upstream';

const STOP = new Set(['a', 'an', 'the', 'in', 'of', 'to', 'for', 'and', 'or', 'is', 'are', 'with', 'my', 'me', 'i', 'please', 'what', 'how', 'about', 'on', 'this', 'can', 'you']);

export function lexicalVector(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  for (const w of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
    if (STOP.has(w)) continue;
    const h = createHash('sha256').update(w).digest().readUInt32BE(0);
    v[h % dimensions]! += 1;
  }
  return v;
}

/** An EngineUpstream behaviour answering OpenAI embeddings with lexical vectors of the requested (or given) size. */
export function lexicalEmbeddings(defaultDimensions = 64): (req: RecordedRequest) => Behaviour {
  return (req) => {
    const body = req.json ?? {};
    const input = body['input'];
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? (input as string[]) : [];
    const dims = typeof body['dimensions'] === 'number' ? body['dimensions'] : defaultDimensions;
    return {
      kind: 'json',
      body: {
        object: 'list',
        model: body['model'],
        data: texts.map((t, index) => ({ object: 'embedding', index, embedding: lexicalVector(t, dims) })),
        usage: { prompt_tokens: 1, total_tokens: 1 },
      },
    };
  };
}
