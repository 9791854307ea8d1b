/**
 * Ollama's native wire format (https://github.com/ollama/ollama/blob/main/docs/api.md: /api/chat, /api/generate,
 * /api/embed) as the translators read it: only the fields used are typed. Provider JSON is checked once by the
 * guard below, then read as a typed object; a field of the wrong type reads as absent.
 */
import { isObject, num, str } from '../translator-kit/guards';

export interface OllamaToolCall {
  function: { name?: string; arguments?: unknown };
}

/** One /api/chat or /api/generate answer, or one NDJSON stream object of either. */
export interface OllamaAnswer {
  model?: string;
  created_at?: string;
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  /** /api/generate text. */
  response?: string;
  /** /api/chat message. */
  message?: { role?: string; content?: string; tool_calls?: OllamaToolCall[] };
  /** An error reported in the stream. */
  error?: string;
  /** /api/embed vectors. */
  embeddings?: unknown[];
}


function toolCallOf(v: unknown): OllamaToolCall {
  const fn = isObject(v) && isObject(v['function']) ? v['function'] : {};
  const call: OllamaToolCall = { function: { arguments: fn['arguments'] } };
  const name = str(fn['name']);
  if (name !== undefined) call.function.name = name;
  return call;
}

export function answerOf(r: Record<string, unknown>): OllamaAnswer {
  const a: OllamaAnswer = {};
  const set = <K extends keyof OllamaAnswer>(k: K, v: OllamaAnswer[K] | undefined): void => {
    if (v !== undefined) a[k] = v;
  };
  set('model', str(r['model']));
  set('created_at', str(r['created_at']));
  if (r['done'] === true || r['done'] === false) a.done = r['done'];
  set('done_reason', str(r['done_reason']));
  set('prompt_eval_count', num(r['prompt_eval_count']));
  set('eval_count', num(r['eval_count']));
  set('response', str(r['response']));
  set('error', str(r['error']));
  if (Array.isArray(r['embeddings'])) a.embeddings = r['embeddings'];
  const m = r['message'];
  if (isObject(m)) {
    const message: NonNullable<OllamaAnswer['message']> = {};
    const role = str(m['role']);
    const content = str(m['content']);
    if (role !== undefined) message.role = role;
    if (content !== undefined) message.content = content;
    if (Array.isArray(m['tool_calls'])) message.tool_calls = m['tool_calls'].map(toolCallOf);
    a.message = message;
  }
  return a;
}
