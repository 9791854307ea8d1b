/** Mistral `POST /v1/embeddings` `{input, model, encoding_format: "float"}` (semantic-routing.md §8); no dimensions parameter. */
import { dig, type EmbeddingsDriver } from './driver';

export const mistral: EmbeddingsDriver = {
  defaultUrl: () => 'https://api.mistral.ai/v1/embeddings',
  body: (text, model) => ({ input: [text], model: model.name, encoding_format: 'float' }),
  vector: (answer) => dig(answer, 'data', 0, 'embedding'),
};
