/**
 * OpenAI → Gemini generateContent bodies (Kong OSS kong/llm/drivers/gemini.lua to_gemini_chat_openai,
 * openai_part_to_gemini_part, to_tools). Differences from Kong OSS, on purpose:
 *  - an assistant tool call becomes `{role: "model", parts: [{functionCall: {name, args}}]}` and a tool result
 *    `functionResponse` named after the call it answers (Kong sends role "function" without args and a
 *    hard-coded name "get_product_info", which Gemini cannot match);
 *  - several system messages are joined with "\n" (Kong concatenates them with no separator);
 *  - OpenAI `tool_choice` is mapped to `toolConfig.functionCallingConfig`.
 */
import { InvalidRequestError } from '../../errors';
import { contentPartOf } from '../openai/types';
import type { TranslateContext } from '../provider';
import { type ChatMessage, compact, type Json, mergeTuning, messagesOf, parseToolArguments } from '../translator-kit/request';

const ROLE: Record<string, string> = { user: 'user', assistant: 'model' };

export function imagePart(url: string): Json {
  if (url.length < 10) throw new InvalidRequestError('could not decode OpenAI image-part, image URL is less than 10 bytes, which is not parsable');
  const m = /^data:([^;,]*)(?:;([^,]*))?,(.*)$/s.exec(url);
  if (m) return { inlineData: { data: m[3], mimeType: m[1] } };
  return { fileData: { fileUri: url, mimeType: 'image/generic' } };
}

export function toGeminiPart(part: unknown): Json {
  const p = contentPartOf(part);
  if (p.type === 'text') {
    if (p.text === undefined) throw new InvalidRequestError("message part type is 'text' but is missing .text block");
    return { text: p.text };
  }
  if (p.type === 'image_url') {
    if (p.url === undefined) throw new InvalidRequestError("message part type is 'image_url' but is missing .image_url.url block");
    return imagePart(p.url);
  }
  throw new InvalidRequestError(`cannot transform part of type '${p.name}' to Gemini format`);
}

export function toContents(messages: ChatMessage[], model: string): { contents: Json[]; systemInstruction?: Json } {
  const contents: Json[] = [];
  const system: string[] = [];
  const toolNames = new Map<string, string>();
  messages.forEach((m, i) => {
    if (m.role === 'system' || m.role === 'developer') {
      system.push(typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p) => String((p as Json)['text'] ?? '')).join('') : '');
      return;
    }
    if (m.role === 'tool') {
      const name = (m.tool_call_id && toolNames.get(m.tool_call_id)) ?? m.name ?? 'function';
      contents.push({ role: 'function', parts: [{ functionResponse: { name, response: { content: m.content } } }] });
      return;
    }
    if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const parts: Json[] = [];
      if (typeof m.content === 'string' && m.content !== '') parts.push({ text: m.content });
      for (const tc of m.tool_calls) {
        const name = tc.function?.name ?? '';
        if (tc.id) toolNames.set(tc.id, name);
        parts.push({ functionCall: { name, args: parseToolArguments(tc.function?.arguments, `tool call arguments in message ${i + 1} are not JSON`) } });
      }
      contents.push({ role: 'model', parts });
      return;
    }
    let parts: Json[];
    if (typeof m.content === 'string') parts = [{ text: m.content }];
    else if (Array.isArray(m.content)) {
      if (m.content.length === 0) throw new InvalidRequestError(`message at position ${i + 1} does not match expected array format`);
      parts = m.content.map((p) => toGeminiPart(p));
    } else parts = [{ text: '' }];
    contents.push({ role: ROLE[m.role] ?? 'user', parts });
  });
  if (system.length === 0) return { contents };
  // gemini-1.0 models have no system instructions (gemini.lua)
  if (model.startsWith('gemini-1.0')) throw new InvalidRequestError("system prompts aren't supported on gemini-1.0 models");
  return { contents, systemInstruction: { parts: [{ text: system.join('\n') }] } };
}

export function toGeminiTools(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const decls = tools.map((t) => (t as Json)?.['function']).filter((f): f is Json => f !== null && typeof f === 'object');
  return decls.length > 0 ? [{ function_declarations: decls }] : undefined;
}

export function toToolConfig(choice: unknown, explicit: unknown): unknown {
  if (explicit !== undefined) return explicit;
  if (choice === undefined || choice === null) return undefined;
  if (choice === 'auto') return { functionCallingConfig: { mode: 'AUTO' } };
  if (choice === 'none') return { functionCallingConfig: { mode: 'NONE' } };
  if (choice === 'required') return { functionCallingConfig: { mode: 'ANY' } };
  const name = ((choice as Json)?.['function'] as Json | undefined)?.['name'];
  if (typeof name === 'string') return { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [name] } };
  throw new InvalidRequestError('tool_choice must be none, auto, required or {type: "function", function: {name}}');
}

export function toGeminiChat(body: Json, ctx: TranslateContext): Json {
  const { contents, systemInstruction } = toContents(messagesOf(body, 'gemini'), ctx.model);
  const t = mergeTuning(body, ctx);
  const stop = typeof body['stop'] === 'string' ? [body['stop']] : Array.isArray(body['stop']) ? body['stop'] : undefined;
  return compact({
    contents,
    systemInstruction,
    generationConfig: compact({ maxOutputTokens: t.max_tokens, stopSequences: stop, temperature: t.temperature, topK: t.top_k, topP: t.top_p }),
    tools: toGeminiTools(body['tools']),
    tool_config: toToolConfig(body['tool_choice'], body['tool_config']),
  });
}
