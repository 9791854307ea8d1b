/**
 * Gemini's streamed JSON array (`application/json` answer to `:streamGenerateContent` without `alt=sse`):
 * `[{...}\n,\r\n{...}]` arriving in arbitrary pieces. Elements are cut at top-level commas by a small scanner that
 * tracks strings, escapes and nesting (Kong: shared.lua json_array_iterator), so no element is parsed twice.
 * The closing `]` ends the stream (Kong turns it into `[DONE]`).
 */
import { type Framer, MAX_PENDING_EVENT, pendingTooLong, type StreamEvent, Utf8Stream } from './framer';
import { TranslationError } from '../../errors';

export class JsonArrayFramer implements Framer {
  private readonly utf8 = new Utf8Stream();
  private buf = '';
  private scanned = 0;
  private depth = 0;
  private inString = false;
  private escape = false;
  private started: boolean;
  private ended = false;

  /** `started`: the opening `[` was already consumed (a stream picked up mid-array). */
  constructor(options: { started?: boolean } = {}) {
    this.started = options.started ?? false;
  }

  /** True once the top-level `]` was seen. */
  get done(): boolean {
    return this.ended;
  }

  push(chunk: Uint8Array): StreamEvent[] {
    return this.feed(this.utf8.push(chunk));
  }

  end(): StreamEvent[] {
    const out = this.feed(this.utf8.end());
    const rest = this.buf.trim();
    if (!this.ended && rest && rest !== ',') out.push({ data: rest.replace(/^,/, '').trim() });
    this.buf = '';
    return out;
  }

  private feed(text: string): StreamEvent[] {
    const out: StreamEvent[] = [];
    if (this.ended) return out;
    this.buf += text;
    const s = this.buf;
    let i = this.scanned;
    let elementStart = 0;
    if (!this.started) {
      while (i < s.length && /\s/.test(s.charAt(i))) i++;
      if (i >= s.length) {
        this.buf = '';
        this.scanned = 0;
        return out;
      }
      if (s.charAt(i) !== '[') throw new TranslationError("invalid streamed JSON array: expected '['");
      this.started = true;
      i++;
      elementStart = i;
    }
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === 92 /* \ */) this.escape = true;
        else if (c === 34 /* " */) this.inString = false;
        continue;
      }
      if (c === 34) this.inString = true;
      else if (c === 123 || c === 91) this.depth++;
      else if (c === 125) {
        // A top-level element is complete at its closing brace: emit it now rather than at the next comma, so
        // the last element of a chunk is not held back waiting for more bytes (Kong emits it too).
        if (--this.depth === 0) {
          this.emit(s.slice(elementStart, i + 1), out);
          elementStart = i + 1;
        }
      } else if (c === 93) {
        if (this.depth === 0) {
          this.emit(s.slice(elementStart, i), out);
          // Kong turns the closing bracket into the SSE terminator (shared.lua frame_to_events).
          out.push({ data: '[DONE]' });
          this.ended = true;
          this.buf = '';
          this.scanned = 0;
          return out;
        }
        this.depth--;
      } else if (c === 44 /* , */ && this.depth === 0) {
        this.emit(s.slice(elementStart, i), out);
        elementStart = i + 1;
      }
    }
    this.buf = s.slice(elementStart);
    // One element that never closes (or whitespace without end) would otherwise be held whole.
    if (this.buf.length > MAX_PENDING_EVENT) throw pendingTooLong('a streamed JSON array element');
    this.scanned = this.buf.length;
    return out;
  }

  private emit(raw: string, out: StreamEvent[]): void {
    const el = raw.trim();
    if (el) out.push({ data: el });
  }
}
