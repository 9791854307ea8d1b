/**
 * Kong's token estimates for a stream whose provider reports no usage (Kong OSS at HEAD):
 * - prompt: kong/llm/plugin/shared-filters/normalize-request.lua sets `llm_prompt_tokens_count` to
 *   `ai_shared.calculate_cost(request, {}, 1.8)` in stream mode: every whitespace-separated word of the request's
 *   messages (string content, or the `text` of its text parts) or prompt counts 1.8, a prompt's token ids 1 each
 *   (kong/llm/drivers/shared.lua count_words / count_prompt / calculate_cost);
 * - completion: normalize-sse-chunk.lua, at the end of the stream, `math.ceil(#strip(response) / 4)`: the bytes
 *   of the streamed text, ASCII whitespace stripped at both ends, over 4.
 * Kong logs the prompt product unrounded (7 words: 12.6 tokens); tokens here are whole, rounded up as Kong rounds
 * the completion. Word counts use the one word counter (translator-kit/response.ts countWords).
 */
import { countWords } from '../translator-kit/response';
import { StreamedText } from './streamed-text';

/** Kong's stream-mode factor (normalize-request.lua `get_global_ctx("stream_mode") and 1.8`), as 9/5. */
const WORD_TOKENS_NUM = 9;
const WORD_TOKENS_DEN = 5;

function contentWords(content: unknown): number {
  if (typeof content === 'string') return countWords(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (part !== null && typeof part === 'object' && (part as { type?: unknown }).type === 'text') {
      const text = (part as { text?: unknown }).text;
      if (typeof text === 'string') n += countWords(text);
    }
  }
  return n;
}

/**
 * The prompt estimate of an OpenAI-format request body (chat `messages`, completions `prompt`); 0 for anything
 * else. Kong answers 500 for a `prompt` it cannot count; an estimate never fails a request here.
 */
export function estimatePromptTokens(body: unknown): number {
  if (body === null || typeof body !== 'object') return 0;
  const b = body as Record<string, unknown>;
  let words = 0;
  let ids = 0;
  if (Array.isArray(b['messages'])) {
    for (const m of b['messages']) if (m !== null && typeof m === 'object') words += contentWords((m as { content?: unknown }).content);
  } else if (typeof b['prompt'] === 'string') {
    words = countWords(b['prompt']);
  } else if (Array.isArray(b['prompt'])) {
    for (const item of b['prompt']) {
      if (typeof item === 'string') words += countWords(item);
      else if (typeof item === 'number') ids++;
      else if (Array.isArray(item)) ids += item.length;
    }
  }
  // Integer arithmetic: words * 1.8 in floating point can land a hair above a whole number, one token more after ceil.
  return Math.ceil((words * WORD_TOKENS_NUM) / WORD_TOKENS_DEN) + ids;
}

/**
 * Bytes of `text` without its leading and trailing ASCII whitespace (Kong's kong.tools.string strip), over 4. One
 * implementation with the stream's running count (streamed-text.ts), which never holds the whole text.
 */
export function estimateCompletionTokens(text: string): number {
  const t = new StreamedText();
  t.push(text);
  return t.completionTokensEstimate();
}
