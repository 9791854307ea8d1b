/**
 * OpenAI → Anthropic Messages / legacy Text Completions request bodies.
 * Behaviour follows Kong OSS kong/llm/drivers/anthropic.lua (to_claude_messages, to_tools, to_tool_choice):
 * only temperature and max_tokens are forwarded for sampling (Kong drops top_p/top_k for Anthropic; the unit
 * fixture expected-requests/anthropic/llm-v1-chat.json depends on it), `stream` is always explicit.
 */
import { InvalidRequestError } from '../../errors';
import { contentPartOf } from '../openai/types';
import type { TranslateContext } from '../provider';
import { type ChatMessage, compact, type Json, mergeTuning, messagesOf, promptOf, parseToolArguments } from '../translator-kit/request';

type Block = Record<string, unknown>;

/** OpenAI content parts → Anthropic blocks. Kong forwards parts untouched; images are converted so they work. */
function toBlocks(content: unknown): unknown {
  if (!Array.isArray(content)) return content ?? '';
  return content.map((part: unknown, j) => {
    const p = contentPartOf(part);
    if (p.type === 'text') return { type: 'text', text: p.text };
    if (p.type === 'image_url') {
      const url = p.url;
      if (url === undefined) throw new InvalidRequestError(`message part ${j + 1} of type 'image_url' is missing image_url.url`);
      const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      if (m) return { type: 'image', source: { type: 'base64', media_type: m[1], data: m[2] } };
      return { type: 'image', source: { type: 'url', url } };
    }
    return p.part;
  });
}

function toolUseBlocks(m: ChatMessage): Block[] {
  return (m.tool_calls ?? []).map((tc, i) => {
    const input = parseToolArguments(tc.function?.arguments, `tool call ${i + 1} has arguments that are not JSON`);
    return { type: 'tool_use', id: tc.id, name: tc.function?.name, input };
  });
}

export function toClaudeMessages(messages: ChatMessage[]): { messages: Block[]; system: string | undefined } {
  const out: Block[] = [];
  const system: string[] = [];
  for (const m of messages) {
    if (m.role === 'user' || m.role === 'assistant') {
      if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
        const text = typeof m.content === 'string' && m.content !== '' ? [{ type: 'text', text: m.content }] : [];
        out.push({ role: 'assistant', content: [...text, ...toolUseBlocks(m)] });
      } else {
        out.push({ role: m.role, content: toBlocks(m.content) });
      }
    } else if (m.role === 'tool') {
      out.push({ role: 'user', content: [{ type: 'tool_result', tool_use_id: m.tool_call_id, content: m.content }] });
    } else {
      // system / developer: Kong OSS keeps only the last one; Kong 3.14.0.5 keeps all of them, as we do.
      const t = typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((p) => (p as Json)['text'] ?? '').join('') : '';
      system.push(String(t));
    }
  }
  return { messages: out, system: system.length > 0 ? system.join('\n') : undefined };
}

export function toTools(tools: unknown): Block[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const out: Block[] = [];
  for (const t of tools) {
    const fn = (t as Json)?.['function'] as Json | undefined;
    if (fn) out.push(compact({ name: fn['name'], description: fn['description'], input_schema: fn['parameters'] ?? { type: 'object' } }));
  }
  return out;
}

export function toToolChoice(choice: unknown): Block | undefined {
  if (choice === undefined || choice === null) return undefined;
  if (typeof choice === 'string') {
    if (choice === 'required') return { type: 'any' };
    if (choice === 'none' || choice === 'auto') return { type: choice };
    throw new InvalidRequestError(`tool_choice '${choice}' is not one of 'none', 'auto', 'required'`);
  }
  const fn = (choice as Json)?.['function'] as Json | undefined;
  if ((choice as Json)?.['type'] === 'function' && typeof fn?.['name'] === 'string') return { type: 'tool', name: fn['name'] };
  throw new InvalidRequestError('tool_choice object must be {type: "function", function: {name}}');
}

function stopSequences(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) return stop as string[];
  return undefined;
}

export function toAnthropicChat(body: Json, ctx: TranslateContext): Json {
  const { messages, system } = toClaudeMessages(messagesOf(body, 'anthropic'));
  const tuning = mergeTuning(body, ctx);
  return compact({
    model: ctx.model,
    messages,
    system,
    max_tokens: tuning.max_tokens,
    temperature: tuning.temperature,
    stop_sequences: stopSequences(body['stop']),
    stream: ctx.stream,
    tools: toTools(body['tools']),
    tool_choice: toToolChoice(body['tool_choice']),
  });
}

export function toAnthropicCompletion(body: Json, ctx: TranslateContext): Json {
  const tuning = mergeTuning(body, ctx);
  return compact({
    model: ctx.model,
    prompt: `Human: ${promptOf(body, 'anthropic')}\n\nAssistant:`,
    max_tokens_to_sample: tuning.max_tokens,
    temperature: tuning.temperature,
    stream: ctx.stream,
  });
}
