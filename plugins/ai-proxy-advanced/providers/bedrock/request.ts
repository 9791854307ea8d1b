/**
 * OpenAI → Bedrock Converse requests (Kong OSS kong/llm/drivers/bedrock.lua to_bedrock_chat_openai /
 * from_bedrock_chat_openai). Differences from Kong OSS, on purpose:
 *  - every tool call of an assistant message is kept (Kong keeps only the last one) and its text too;
 *  - a tool result that is not JSON is sent as `{text}` (Kong refuses it);
 *  - OpenAI content parts are converted (text, base64 images) instead of forwarded as OpenAI parts;
 *  - all text blocks of the answer are joined (Kong reads the first block only);
 *  - `tool_choice` maps to `toolConfig.toolChoice`, `stop` to `stopSequences`.
 */
import { InvalidRequestError } from '../../errors';
import { contentPartOf } from '../openai/types';
import type { TranslateContext } from '../provider';
import { type ChatMessage, compact, type Json, mergeTuning, messagesOf, modelOptions, parseToolArguments } from '../translator-kit/request';
import { arr, obj } from '../translator-kit/response';

/** Models that refuse a system prompt (bedrock.lua bedrock_unsupported_system_role_patterns, as regexes). */
export const NO_SYSTEM_ROLE = [/amazon.titan/, /cohere.command.*text/, /cohere.command.*light.*text/, /mistral.mistral.*7b.*instruct/, /mistral.mixtral.*8x7b.*instruct/];

const IMAGE_FORMATS = new Set(['png', 'jpeg', 'gif', 'webp']);

function contentBlocks(content: unknown, i: number): Json[] {
  if (typeof content === 'string') return [{ text: content }];
  if (!Array.isArray(content)) return [{ text: '' }];
  return content.map((part: unknown, j) => {
    const p = contentPartOf(part);
    if (p.type === 'text' && p.text !== undefined) return { text: p.text };
    if (p.type === 'image_url') {
      const m = /^data:image\/([a-z]+);base64,(.*)$/s.exec(p.url ?? '');
      const format = m?.[1] === 'jpg' ? 'jpeg' : m?.[1];
      if (!m || !format || !IMAGE_FORMATS.has(format)) {
        throw new InvalidRequestError(`message ${i + 1} part ${j + 1}: Bedrock takes images only as base64 data URLs (png, jpeg, gif, webp)`);
      }
      return { image: { format, source: { bytes: m[2] } } };
    }
    throw new InvalidRequestError(`message ${i + 1} part ${j + 1}: part type '${p.type === 'other' ? p.name : p.type}' is not supported by Bedrock`);
  });
}

function toolResult(m: ChatMessage): Json {
  const raw = typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? '');
  let block: Json = { text: raw };
  try {
    const v: unknown = JSON.parse(raw);
    block = { json: v !== null && typeof v === 'object' && !Array.isArray(v) ? v : { result: v } };
  } catch {
    // plain text tool output
  }
  return compact({ toolResult: compact({ toolUseId: m.tool_call_id, content: [block], status: typeof m['status'] === 'string' ? m['status'] : undefined }) });
}

function toolUses(m: ChatMessage, i: number): Json[] {
  return (m.tool_calls ?? []).map((tc) => {
    const input = parseToolArguments(tc.function?.arguments, `failed to decode function arguments of message ${i + 1}, not JSON format`);
    return { toolUse: { toolUseId: tc.id, name: tc.function?.name, input } };
  });
}

function toolConfig(body: Json): Json | undefined {
  const tools = arr(body['tools']);
  if (!tools || tools.length === 0 || body['tool_choice'] === 'none') return undefined;
  const specs = tools
    .map((t) => obj(obj(t)?.['function']))
    .filter((f): f is Json => f !== undefined)
    .map((f) => ({ toolSpec: compact({ name: f['name'], description: f['description'], inputSchema: { json: f['parameters'] ?? { type: 'object' } } }) }));
  const choice = body['tool_choice'];
  let toolChoice: Json | undefined;
  if (choice === 'auto') toolChoice = { auto: {} };
  else if (choice === 'required') toolChoice = { any: {} };
  else if (obj(choice)) {
    const name = obj(obj(choice)?.['function'])?.['name'];
    if (typeof name !== 'string') throw new InvalidRequestError('tool_choice object must be {type: "function", function: {name}}');
    toolChoice = { tool: { name } };
  }
  return compact({ tools: specs, toolChoice });
}

export function toConverse(body: Json, ctx: TranslateContext): Json {
  const messages: Json[] = [];
  const system: Json[] = [];
  messagesOf(body, 'bedrock').forEach((m, i) => {
    if (m.role === 'system' || m.role === 'developer') {
      system.push({ text: typeof m.content === 'string' ? m.content : contentBlocks(m.content, i).map((b) => b['text'] ?? '').join('') });
    } else if (m.role === 'tool') {
      messages.push({ role: 'user', content: [toolResult(m)] });
    } else if (m.role === 'assistant' && Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
      const text = typeof m.content === 'string' && m.content !== '' ? [{ text: m.content }] : [];
      messages.push({ role: 'assistant', content: [...text, ...toolUses(m, i)] });
    } else {
      messages.push({ role: m.role === 'assistant' ? 'assistant' : 'user', content: contentBlocks(m.content, i) });
    }
  });
  if (system.length > 0 && NO_SYSTEM_ROLE.some((re) => re.test(ctx.model))) {
    throw new InvalidRequestError(`system prompts are unsupported for model '${ctx.model}'`);
  }
  const t = mergeTuning(body, ctx);
  const o = modelOptions(ctx);
  const stop = typeof body['stop'] === 'string' ? [body['stop']] : Array.isArray(body['stop']) ? body['stop'] : undefined;
  const extra = obj(obj(body['bedrock'])?.['additionalModelRequestFields']);
  const latency = o.bedrock?.performance_config_latency;
  return compact({
    system: system.length > 0 ? system : undefined,
    messages,
    inferenceConfig: compact({ maxTokens: t.max_tokens, stopSequences: stop, temperature: t.temperature, topP: t.top_p }),
    // Kong always sends it (anthropic models on Bedrock accept a version); kept for request parity.
    anthropic_version: o.anthropic_version ?? 'bedrock-2023-05-31',
    guardrailConfig: body['guardrailConfig'],
    toolConfig: toolConfig(body) ?? obj(obj(body['bedrock'])?.['toolConfig']),
    additionalModelRequestFields: extra,
    performanceConfig: latency ? { latency } : undefined,
  });
}

