/**
 * Streamed Responses API answers (`POST /v1/responses` with `stream: true`): typed server-sent events
 * (`event: response.output_text.delta`, ... `event: response.completed`) that the client's SDK reads as they
 * are, so every event passes through unchanged, with its `event:` line, and no `data: [DONE]` is added (the
 * Responses API has none). On the way, the text of `response.output_text.delta` events is kept for
 * `log_payloads`, and the usage of `response.completed` (or `response.incomplete` / `response.failed`, which
 * carry it too) for analytics: input_tokens / output_tokens, as in the buffered answer (Kong/kong #14768 is the
 * same usage going missing in Kong 3.11).
 */
import type { StreamTranslator, TokenUsage, TranslateContext } from '../provider';
import { isObject } from '../translator-kit/guards';
import type { StreamEvent } from '../streams/framer';
import { SseFramer } from '../streams/sse';
import { StreamedText } from '../streams/streamed-text';
import { passThroughUsage } from './pass-through';

const FINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);

class ResponsesStreamTranslator implements StreamTranslator {
  private readonly framer = new SseFramer();
  private readonly generated = new StreamedText();
  private reported: TokenUsage | undefined;

  push(chunk: Uint8Array): string[] {
    return this.relay(this.framer.push(chunk));
  }

  end(): string[] {
    return this.relay(this.framer.end());
  }

  usage(): TokenUsage {
    if (this.reported) return this.reported;
    const completion = this.generated.wordCount();
    return { prompt_tokens: 0, completion_tokens: completion, total_tokens: completion };
  }

  text(): string {
    return this.generated.text();
  }

  private relay(events: StreamEvent[]): string[] {
    const out: string[] = [];
    for (const ev of events) {
      if (ev.data === '' && ev.event === undefined) continue;
      this.observe(ev);
      let frame = '';
      if (ev.event !== undefined) frame += `event: ${ev.event}\n`;
      // A multi-line data field was joined with \n by the framer: one `data:` line per line again.
      for (const line of ev.data.split('\n')) frame += `data: ${line}\n`;
      out.push(`${frame}\n`);
    }
    return out;
  }

  private observe(ev: StreamEvent): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!isObject(parsed)) return;
    const type = typeof parsed['type'] === 'string' ? parsed['type'] : ev.event;
    if (type === 'response.output_text.delta' && typeof parsed['delta'] === 'string') this.generated.push(parsed['delta']);
    else if (type !== undefined && FINAL_EVENTS.has(type) && isObject(parsed['response']) && isObject(parsed['response']['usage'])) {
      this.reported = passThroughUsage(parsed['response']['usage']);
    }
  }
}

export function createResponsesStreamTranslator(_ctx: TranslateContext): StreamTranslator {
  return new ResponsesStreamTranslator();
}
