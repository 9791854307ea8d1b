/** Ollama `POST /api/embed` `{model, input, dimensions}` → `embeddings[0]` (Kong 3.14). Local by default. */
import { dig, type EmbeddingsDriver } from './driver';

export const ollama: EmbeddingsDriver = {
  defaultUrl: () => 'http://127.0.0.1:11434/api/embed',
  body: (text, model, dimensions) => ({ model: model.name, input: text, dimensions }),
  vector: (answer) => dig(answer, 'embeddings', 0) ?? dig(answer, 'embedding'),
};
