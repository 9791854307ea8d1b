/**
 * `llm_format: anthropic` in front of a target of another provider (Kong's Claude Code examples: an Anthropic
 * client through OpenAI, Gemini, Bedrock, ...): the Anthropic Messages request becomes the one OpenAI chat format
 * every driver translates from, and the driver's OpenAI answer becomes an Anthropic message again, buffered or as
 * Anthropic's stream events. Pure; the driver in between does the provider's side (engine/llm-format.ts).
 *
 * Anthropic: https://docs.anthropic.com/en/api/messages, /messages-streaming. What has no OpenAI counterpart
 * (thinking blocks, server tools such as web search, cache_control, documents) is left out of the request.
 */
import { InvalidRequestError } from '../../errors';
import type { StreamTranslator, TokenUsage } from '../provider';
import { isObject, num, str, type Json } from '../translator-kit/guards';
import { nativeText } from '../translator-kit/native';

/** OpenAI finish_reason → Anthropic stop_reason. */
const STOP: Readonly<Record<string, string>> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };

export function stopReasonOf(finish: unknown): string {
  return typeof finish === 'string' && Object.hasOwn(STOP, finish) ? STOP[finish]! : 'end_turn';
}

function imagePart(block: Json): Json | undefined {
  const src = isObject(block['source']) ? block['source'] : undefined;
  if (!src) return undefined;
  if (src['type'] === 'base64' && typeof src['data'] === 'string' && typeof src['media_type'] === 'string') {
    return { type: 'image_url', image_url: { url: `data:${src['media_type']};base64,${src['data']}` } };
  }
  if (src['type'] === 'url' && typeof src['url'] === 'string') return { type: 'image_url', image_url: { url: src['url'] } };
  return undefined;
}

/** One Anthropic message → the OpenAI messages it stands for (a user turn's tool results come first, as tool messages). */
function openAiMessagesOf(m: Json, i: number): Json[] {
  const role = m['role'];
  if (role !== 'user' && role !== 'assistant') throw new InvalidRequestError(`messages.${i}.role must be 'user' or 'assistant'`);
  const content = m['content'];
  if (typeof content === 'string') return [{ role, content }];
  if (!Array.isArray(content)) throw new InvalidRequestError(`messages.${i}.content must be a string or an array of content blocks`);
  const parts: Json[] = [];
  const toolCalls: Json[] = [];
  const toolResults: Json[] = [];
  for (const b of content) {
    if (!isObject(b)) continue;
    switch (b['type']) {
      case 'text':
        if (typeof b['text'] === 'string') parts.push({ type: 'text', text: b['text'] });
        break;
      case 'image': {
        const p = imagePart(b);
        if (p) parts.push(p);
        break;
      }
      case 'tool_use':
        toolCalls.push({ id: str(b['id']) ?? `toolu_${i}_${toolCalls.length}`, type: 'function', function: { name: str(b['name']) ?? '', arguments: JSON.stringify(b['input'] ?? {}) } });
        break;
      case 'tool_result':
        toolResults.push({ role: 'tool', tool_call_id: str(b['tool_use_id']) ?? '', content: nativeText(b['content']) });
        break;
      default:
        // thinking, redacted_thinking, document, server tool blocks: nothing an OpenAI-format provider takes.
        break;
    }
  }
  const out: Json[] = [...toolResults];
  const onlyText = parts.every((p) => p['type'] === 'text');
  const text = parts.map((p) => p['text']).join('');
  if (role === 'assistant') {
    if (parts.length > 0 || toolCalls.length > 0) {
      const msg: Json = { role, content: parts.length > 0 ? text : null };
      if (toolCalls.length > 0) msg['tool_calls'] = toolCalls;
      out.push(msg);
    }
  } else if (parts.length > 0) {
    out.push({ role, content: onlyText ? text : parts });
  }
  return out;
}

function toolsOf(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  // Client tools only (no `type`, or `custom`); server tools (web_search_..., bash_...) run at Anthropic.
  const out = tools
    .filter((t): t is Json => isObject(t) && typeof t['name'] === 'string' && (t['type'] === undefined || t['type'] === 'custom'))
    .map((t) => ({ type: 'function', function: { name: t['name'], description: t['description'], parameters: t['input_schema'] ?? { type: 'object', properties: {} } } }));
  return out.length > 0 ? out : undefined;
}

function toolChoiceOf(tc: unknown): unknown {
  if (!isObject(tc)) return undefined;
  switch (tc['type']) {
    case 'auto':
      return 'auto';
    case 'any':
      return 'required';
    case 'none':
      return 'none';
    case 'tool':
      return typeof tc['name'] === 'string' ? { type: 'function', function: { name: tc['name'] } } : undefined;
    default:
      return undefined;
  }
}

/** An Anthropic Messages request → the OpenAI chat request the target's driver translates. */
export function openAiRequestOf(body: Json): Json {
  const list = body['messages'];
  if (!Array.isArray(list)) throw new InvalidRequestError('messages: field required');
  const messages: Json[] = [];
  const system = nativeText(body['system']);
  if (system !== '') messages.push({ role: 'system', content: system });
  list.forEach((m, i) => {
    if (!isObject(m)) throw new InvalidRequestError(`messages.${i} must be an object`);
    messages.push(...openAiMessagesOf(m, i));
  });
  const out: Json = { messages };
  if (typeof body['model'] === 'string') out['model'] = body['model'];
  for (const [from, to] of [['max_tokens', 'max_tokens'], ['temperature', 'temperature'], ['top_p', 'top_p'], ['top_k', 'top_k']] as const) {
    const v = num(body[from]);
    if (v !== undefined) out[to] = v;
  }
  if (Array.isArray(body['stop_sequences'])) out['stop'] = body['stop_sequences'].filter((s) => typeof s === 'string');
  const tools = toolsOf(body['tools']);
  if (tools) {
    out['tools'] = tools;
    const choice = toolChoiceOf(body['tool_choice']);
    if (choice !== undefined) out['tool_choice'] = choice;
  }
  if (body['stream'] === true) {
    out['stream'] = true;
    // The usage Anthropic's message_delta reports: asked for at the provider, not shown to the client as such.
    out['stream_options'] = { include_usage: true };
  }
  return out;
}

function toolInput(args: unknown): unknown {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    return JSON.parse(args);
  } catch {
    return {};
  }
}

/** The driver's OpenAI chat answer → an Anthropic message. */
export function anthropicMessageOf(openai: unknown, model: string, usage: TokenUsage): Json {
  const o = isObject(openai) ? openai : {};
  const choice = Array.isArray(o['choices']) && isObject(o['choices'][0]) ? o['choices'][0] : {};
  const message = isObject(choice['message']) ? choice['message'] : {};
  const content: Json[] = [];
  const text = typeof message['content'] === 'string' ? message['content'] : nativeText(message['content']);
  if (text !== '') content.push({ type: 'text', text });
  if (Array.isArray(message['tool_calls'])) {
    for (const [i, tc] of message['tool_calls'].entries()) {
      if (!isObject(tc)) continue;
      const fn = isObject(tc['function']) ? tc['function'] : {};
      content.push({ type: 'tool_use', id: str(tc['id']) ?? `toolu_${i}`, name: str(fn['name']) ?? '', input: toolInput(fn['arguments']) });
    }
  }
  return {
    id: str(o['id']) ?? 'msg_kong',
    type: 'message',
    role: 'assistant',
    model,
    content,
    stop_reason: stopReasonOf(choice['finish_reason']),
    stop_sequence: null,
    usage: { input_tokens: usage.prompt_tokens, output_tokens: usage.completion_tokens },
  };
}

const event = (type: string, data: Json): string => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/**
 * The driver's OpenAI chunk stream → Anthropic's events: message_start, one content block per text run or tool
 * call (content_block_start / _delta / _stop), message_delta with the stop reason and usage, message_stop.
 */
export function createMessagesStream(inner: StreamTranslator, model: string): StreamTranslator {
  let started = false;
  let finished = false;
  let block = -1;
  let blockKind: 'text' | 'tool' | undefined;
  /** OpenAI tool-call index → Anthropic block index. */
  const toolBlocks = new Map<number, number>();
  let stopReason = 'end_turn';
  let id = 'msg_kong';

  const out: string[] = [];
  const start = (): void => {
    if (started) return;
    started = true;
    const u = inner.usage();
    out.push(event('message_start', { message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: u.prompt_tokens, output_tokens: 0 } } }));
  };
  const close = (): void => {
    if (blockKind !== undefined) out.push(event('content_block_stop', { index: block }));
    blockKind = undefined;
  };
  const open = (kind: 'text' | 'tool', contentBlock: Json): void => {
    close();
    block += 1;
    blockKind = kind;
    out.push(event('content_block_start', { index: block, content_block: contentBlock }));
  };
  const finish = (): void => {
    if (finished) return;
    start();
    finished = true;
    close();
    const u = inner.usage();
    out.push(event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens } }));
    out.push(event('message_stop', {}));
  };
  const onChunk = (chunk: Json): void => {
    if (isObject(chunk['error'])) {
      start();
      const e = chunk['error'];
      out.push(event('error', { error: { type: str(e['type']) ?? 'api_error', message: str(e['message']) ?? 'provider stream error' } }));
      return;
    }
    if (typeof chunk['id'] === 'string' && !started) id = chunk['id'];
    const choices = Array.isArray(chunk['choices']) ? chunk['choices'] : [];
    const c = isObject(choices[0]) ? choices[0] : undefined;
    if (!c) return;
    start();
    const delta = isObject(c['delta']) ? c['delta'] : {};
    if (typeof delta['content'] === 'string' && delta['content'] !== '') {
      if (blockKind !== 'text') open('text', { type: 'text', text: '' });
      out.push(event('content_block_delta', { index: block, delta: { type: 'text_delta', text: delta['content'] } }));
    }
    if (Array.isArray(delta['tool_calls'])) {
      for (const tc of delta['tool_calls']) {
        if (!isObject(tc)) continue;
        const at = num(tc['index']) ?? 0;
        const fn = isObject(tc['function']) ? tc['function'] : {};
        if (!toolBlocks.has(at)) {
          open('tool', { type: 'tool_use', id: str(tc['id']) ?? `toolu_${at}`, name: str(fn['name']) ?? '', input: {} });
          toolBlocks.set(at, block);
        }
        const args = fn['arguments'];
        // Deltas for the tool call being written; OpenAI streams one call at a time.
        if (typeof args === 'string' && args !== '' && toolBlocks.get(at) === block) {
          out.push(event('content_block_delta', { index: block, delta: { type: 'input_json_delta', partial_json: args } }));
        }
      }
    }
    if (typeof c['finish_reason'] === 'string') stopReason = stopReasonOf(c['finish_reason']);
  };
  const take = (frames: string[]): string[] => {
    for (const f of frames) {
      if (finished) break;
      const data = f.startsWith('data: ') ? f.slice(6).trim() : '';
      if (data === '[DONE]') finish();
      else if (data !== '') {
        let parsed: unknown;
        try {
          parsed = JSON.parse(data);
        } catch {
          continue;
        }
        if (isObject(parsed)) onChunk(parsed);
      }
    }
    return out.splice(0);
  };
  return {
    push: (chunk) => take(inner.push(chunk)),
    end() {
      const frames = take(inner.end());
      finish();
      return [...frames, ...out.splice(0)];
    },
    usage: () => inner.usage(),
    text: () => inner.text(),
  };
}
