/**
 * Hugging Face feature extraction `POST https://api-inference.huggingface.co/models/{model}` `{inputs, options}`:
 * a sentence-embedding model answers one flat vector (or `[vector]`). Token-level output is not a vector and fails
 * the length check by name.
 */
import { type EmbeddingsDriver } from './driver';

export const huggingface: EmbeddingsDriver = {
  defaultUrl: (model) => `https://api-inference.huggingface.co/models/${encodeURIComponent(model.name)}`,
  body(text, model) {
    const hf = model.options?.huggingface;
    const options: Record<string, unknown> = {};
    if (hf?.use_cache != null) options['use_cache'] = hf.use_cache;
    if (hf?.wait_for_model != null) options['wait_for_model'] = hf.wait_for_model;
    return { inputs: text, options };
  },
  vector(answer) {
    if (Array.isArray(answer) && Array.isArray(answer[0])) return answer[0];
    return answer;
  },
};
