/**
 * The generic incremental stream translator: a framer (bytes → provider events) plus a per-provider event handler
 * that writes OpenAI chunks through a sink. This file owns the OpenAI side of every translated stream: frame
 * serialization, the optional final usage frame (`stream_options.include_usage`), `data: [DONE]`, usage totals
 * (reported, else estimated like Kong: usage-estimate.ts, over streamed-text.ts's running totals), the text kept for `log_payloads` and the finish reason.
 */
import type { StreamTranslator, TokenUsage, TranslateContext } from '../provider';
import type { Framer } from './framer';
import { StreamedText } from './streamed-text';

export type StreamKind = 'chat' | 'completions';

export const DONE_FRAME = 'data: [DONE]\n\n';

export function sseFrame(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

export interface StreamSink {
  readonly kind: StreamKind;
  readonly ctx: TranslateContext;
  /** Emit one OpenAI chunk carrying `choice` (index 0 is filled in when absent). */
  choice(choice: Record<string, unknown>): void;
  /** Generated text, for the payload log and the usage estimate. */
  text(s: string): void;
  /** A `finish_reason` of a chunk passed through as is (`choice` notes its own). */
  finishReason(reason: string): void;
  /** Provider-reported token counts; later reports overwrite earlier ones field by field. */
  usage(u: { prompt_tokens?: number | undefined; completion_tokens?: number | undefined; total_tokens?: number | undefined }): void;
  setId(id: string | undefined): void;
  setModel(model: string | undefined): void;
  /** Forward an already OpenAI-shaped event untouched (`data: <data>`); `carriesUsage` suppresses our usage frame. */
  raw(data: string, carriesUsage?: boolean): void;
  /** An in-stream provider error: one OpenAI-style error frame. */
  error(message: string, type: string): void;
  /** The provider signalled the end of the answer: usage frame (if asked) and `[DONE]` follow at once. */
  done(): void;
}

export type EventHandler<E> = (event: E, sink: StreamSink) => void;

class Translator<E> implements StreamTranslator, StreamSink {
  private frames: string[] = [];
  private readonly generated = new StreamedText();
  private reported: Partial<TokenUsage> = {};
  private id: string | undefined;
  private model: string;
  private finished = false;
  private upstreamUsageFrame = false;
  private finish: string | undefined;

  constructor(
    readonly ctx: TranslateContext,
    readonly kind: StreamKind,
    private readonly framer: Framer<E>,
    private readonly handle: EventHandler<E>,
  ) {
    this.model = ctx.model;
  }

  push(chunk: Uint8Array): string[] {
    if (this.finished) return [];
    for (const ev of this.framer.push(chunk)) {
      if (this.finished) break;
      this.handle(ev, this);
    }
    return this.take();
  }

  end(): string[] {
    if (!this.finished) {
      for (const ev of this.framer.end()) {
        if (this.finished) break;
        this.handle(ev, this);
      }
      if (!this.finished) this.done();
    }
    return this.take();
  }

  usage(): TokenUsage;
  usage(u: { prompt_tokens?: number | undefined; completion_tokens?: number | undefined; total_tokens?: number | undefined }): void;
  usage(u?: { prompt_tokens?: number | undefined; completion_tokens?: number | undefined; total_tokens?: number | undefined }): TokenUsage | void {
    if (u) {
      if (typeof u.prompt_tokens === 'number') this.reported.prompt_tokens = u.prompt_tokens;
      if (typeof u.completion_tokens === 'number') this.reported.completion_tokens = u.completion_tokens;
      if (typeof u.total_tokens === 'number') this.reported.total_tokens = u.total_tokens;
      return;
    }
    // Each count the provider did not report is Kong's estimate (usage-estimate.ts).
    const p = this.reported.prompt_tokens ?? this.ctx.promptTokensEstimate?.() ?? 0;
    const c = this.reported.completion_tokens ?? this.generated.completionTokensEstimate();
    return { prompt_tokens: p, completion_tokens: c, total_tokens: this.reported.total_tokens ?? p + c };
  }

  text(): string;
  text(s: string): void;
  text(s?: string): string | void {
    if (s === undefined) return this.generated.text();
    this.generated.push(s);
  }

  finishReason(): string | undefined;
  finishReason(reason: string): void;
  finishReason(reason?: string): string | undefined | void {
    if (reason === undefined) return this.finish;
    this.finish = reason;
  }

  choice(choice: Record<string, unknown>): void {
    const c = 'index' in choice ? choice : Object.assign({ index: 0 }, choice);
    if (typeof c['finish_reason'] === 'string') this.finish = c['finish_reason'];
    const frame: Record<string, unknown> = {};
    if (this.id !== undefined) frame['id'] = this.id;
    frame['object'] = this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
    frame['model'] = this.model;
    frame['choices'] = [c];
    this.frames.push(sseFrame(frame));
  }

  setId(id: string | undefined): void {
    if (id) this.id = id;
  }

  setModel(model: string | undefined): void {
    if (model) this.model = model;
  }

  raw(data: string, carriesUsage = false): void {
    this.frames.push(`data: ${data}\n\n`);
    if (carriesUsage) this.upstreamUsageFrame = true;
  }

  error(message: string, type: string): void {
    this.frames.push(sseFrame({ error: { message, type } }));
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.ctx.includeUsage && !this.upstreamUsageFrame) {
      const frame: Record<string, unknown> = {};
      if (this.id !== undefined) frame['id'] = this.id;
      frame['object'] = this.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion';
      frame['model'] = this.model;
      frame['choices'] = [];
      frame['usage'] = this.usage();
      this.frames.push(sseFrame(frame));
    }
    this.frames.push(DONE_FRAME);
  }

  private take(): string[] {
    const out = this.frames;
    this.frames = [];
    return out;
  }
}

export function createEventStreamTranslator<E>(
  ctx: TranslateContext,
  kind: StreamKind,
  framer: Framer<E>,
  handle: EventHandler<E>,
): StreamTranslator {
  return new Translator(ctx, kind, framer, handle);
}

export function kindOf(ctx: TranslateContext): StreamKind {
  return ctx.routeType === 'llm/v1/completions' ? 'completions' : 'chat';
}
