/** OpenAI `POST /v1/embeddings` `{input, model, dimensions}` → `data[0].embedding` (semantic-routing.md §8). */
import { dig, type EmbeddingsDriver } from './driver';

export const openai: EmbeddingsDriver = {
  defaultUrl: () => 'https://api.openai.com/v1/embeddings',
  // `dimensions` from vectordb.dimensions: text-embedding-3-* shorten to it; ada-002 only accepts 1536.
  body: (text, model, dimensions) => ({ input: text, model: model.name, dimensions }),
  vector: (answer) => dig(answer, 'data', 0, 'embedding'),
};
