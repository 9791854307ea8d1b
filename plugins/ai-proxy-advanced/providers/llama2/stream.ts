/**
 * Llama 2 streams per `llama2_format`: `raw` is Text Generation Inference SSE (huggingface/stream.ts; Kong OSS has
 * no raw stream parser), `ollama` Ollama's NDJSON (ollama/stream.ts); `openai` goes through the one OpenAI driver
 * (index.ts).
 */
import type { StreamTranslator, TranslateContext } from '../provider';
import { createTgiStreamTranslator } from '../huggingface/stream';
import { createOllamaStreamTranslator } from '../ollama/stream';

export function createLlama2StreamTranslator(ctx: TranslateContext, format: 'raw' | 'ollama'): StreamTranslator {
  return format === 'raw' ? createTgiStreamTranslator(ctx) : createOllamaStreamTranslator(ctx);
}
