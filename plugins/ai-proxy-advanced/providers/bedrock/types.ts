/**
 * Bedrock Converse / ConverseStream wire format (https://docs.aws.amazon.com/bedrock/latest/APIReference/
 * API_runtime_Converse.html, API_runtime_ConverseStream.html) as the translators read it: only the fields used are
 * typed. Provider JSON is checked once by the guards below, then read as typed objects; a field of the wrong type
 * reads as absent.
 */
import { counts, isObject, num, str } from '../translator-kit/guards';

export interface ConverseToolUse {
  toolUseId?: unknown;
  name?: unknown;
  input?: unknown;
}

export interface ConverseUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
}

export interface ConverseAnswer {
  /** `output.message.content`: text blocks and tool uses, in order. */
  content: Array<{ text: string } | { toolUse: ConverseToolUse } | { other: true }>;
  stopReason?: string;
  usage?: ConverseUsage;
  trace?: unknown;
}


export function usageOf(v: unknown): ConverseUsage | undefined {
  return counts(v, ['inputTokens', 'outputTokens', 'totalTokens'] as const);
}

function toolUseOf(v: unknown): ConverseToolUse | undefined {
  return isObject(v) ? { toolUseId: v['toolUseId'], name: v['name'], input: v['input'] } : undefined;
}

/** The Converse answer, or undefined when it has no content blocks. */
export function answerOf(r: Record<string, unknown>): ConverseAnswer | undefined {
  const output = isObject(r['output']) ? r['output'] : {};
  const message = isObject(output['message']) ? output['message'] : {};
  const blocks = message['content'];
  if (!Array.isArray(blocks) || blocks.length === 0) return undefined;
  const a: ConverseAnswer = {
    content: blocks.flatMap((b): ConverseAnswer['content'] => {
      if (!isObject(b)) return [{ other: true }];
      const out: ConverseAnswer['content'] = [];
      const text = str(b['text']);
      if (text !== undefined) out.push({ text });
      const tu = toolUseOf(b['toolUse']);
      if (tu) out.push({ toolUse: tu });
      return out;
    }),
  };
  const stop = str(r['stopReason']);
  if (stop !== undefined) a.stopReason = stop;
  const u = usageOf(r['usage']);
  if (u) a.usage = u;
  if (r['trace'] !== undefined) a.trace = r['trace'];
  return a;
}

/** ConverseStream events, by their `:event-type` header. */
export type ConverseStreamEvent =
  | { type: 'messageStart'; role?: string }
  | { type: 'contentBlockStart'; index: number; toolUse?: ConverseToolUse }
  | { type: 'contentBlockDelta'; index: number; toolUseInput?: unknown; text: string }
  | { type: 'messageStop'; stopReason?: string }
  | { type: 'metadata'; usage?: ConverseUsage }
  | { type: 'other' };

export function streamEventOf(eventType: string | undefined, body: Record<string, unknown>): ConverseStreamEvent {
  const index = num(body['contentBlockIndex']) ?? 0;
  switch (eventType) {
    case 'messageStart': {
      const role = str(body['role']);
      return role === undefined ? { type: 'messageStart' } : { type: 'messageStart', role };
    }
    case 'contentBlockStart': {
      const start = isObject(body['start']) ? body['start'] : {};
      const tu = toolUseOf(start['toolUse']);
      return tu ? { type: 'contentBlockStart', index, toolUse: tu } : { type: 'contentBlockStart', index };
    }
    case 'contentBlockDelta': {
      const d = isObject(body['delta']) ? body['delta'] : {};
      const tu = isObject(d['toolUse']) ? d['toolUse'] : undefined;
      if (tu) return { type: 'contentBlockDelta', index, toolUseInput: tu['input'] ?? '', text: '' };
      return { type: 'contentBlockDelta', index, text: str(d['text']) ?? '' };
    }
    case 'messageStop': {
      const stop = str(body['stopReason']);
      return stop === undefined ? { type: 'messageStop' } : { type: 'messageStop', stopReason: stop };
    }
    case 'metadata': {
      const u = usageOf(body['usage']);
      return u ? { type: 'metadata', usage: u } : { type: 'metadata' };
    }
    default:
      return { type: 'other' }; // contentBlockStop carries nothing for the client
  }
}
