/**
 * Gemini's generateContent / streamGenerateContent wire format (https://ai.google.dev/api/generate-content) as
 * the translators read it: the first candidate's parts, its finish reason, usageMetadata, an in-stream error.
 * Provider JSON is checked once by the guard below, then read as a typed object; a field of the wrong type reads as
 * absent.
 */
import { counts, isObject, str } from '../translator-kit/guards';

export interface GeminiFunctionCall {
  name?: string;
  args?: unknown;
}

export interface GeminiCandidate {
  /** Text of the non-thought parts, in order. */
  texts: string[];
  functionCalls: GeminiFunctionCall[];
  finishReason?: string;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
}

export interface GeminiAnswer {
  candidate?: GeminiCandidate;
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  error?: { message: string; status: string };
}


function candidateOf(v: unknown): GeminiCandidate | undefined {
  if (!isObject(v)) return undefined;
  const content = isObject(v['content']) ? v['content'] : {};
  const parts = Array.isArray(content['parts']) ? content['parts'] : [];
  const c: GeminiCandidate = { texts: [], functionCalls: [] };
  for (const part of parts) {
    if (!isObject(part)) continue;
    const text = str(part['text']);
    // Thought summaries (thinking models) are not the answer.
    if (text !== undefined && part['thought'] !== true) c.texts.push(text);
    const fc = part['functionCall'];
    if (isObject(fc)) {
      const call: GeminiFunctionCall = { args: fc['args'] };
      const name = str(fc['name']);
      if (name !== undefined) call.name = name;
      c.functionCalls.push(call);
    }
  }
  const finish = str(v['finishReason']);
  if (finish !== undefined) c.finishReason = finish;
  return c;
}

export function answerOf(r: Record<string, unknown>): GeminiAnswer {
  const a: GeminiAnswer = {};
  const candidate = candidateOf(Array.isArray(r['candidates']) ? r['candidates'][0] : undefined);
  if (candidate) a.candidate = candidate;
  const u = counts(r['usageMetadata'], ['promptTokenCount', 'candidatesTokenCount', 'totalTokenCount'] as const);
  if (u) a.usageMetadata = u;
  const version = str(r['modelVersion']);
  if (version !== undefined) a.modelVersion = version;
  const e = r['error'];
  if (isObject(e)) a.error = { message: str(e['message']) ?? 'gemini stream error', status: str(e['status']) ?? 'api_error' };
  return a;
}
