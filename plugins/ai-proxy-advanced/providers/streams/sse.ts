/**
 * text/event-stream framing (WHATWG HTML "event stream interpretation"), incremental.
 *
 * Like Kong's frame_to_events (kong/llm/drivers/shared.lua), a line that starts with `{` is taken as a whole
 * JSON event: some providers (Cohere v1, Ollama) answer newline-delimited JSON under an SSE content type.
 */
import { type Framer, MAX_PENDING_EVENT, pendingTooLong, type StreamEvent, Utf8Stream } from './framer';

export class SseFramer implements Framer {
  private readonly utf8 = new Utf8Stream();
  private buf = '';
  private pendingCr = false;
  private data: string[] = [];
  /** Characters of the event being collected (its lines with their line ends), bounded by MAX_PENDING_EVENT. */
  private pending = 0;
  private event: string | undefined;
  private id: string | undefined;

  push(chunk: Uint8Array): StreamEvent[] {
    return this.feed(this.utf8.push(chunk), false);
  }

  end(): StreamEvent[] {
    const out = this.feed(this.utf8.end(), true);
    // A truncated last event (no blank line) is still delivered: the upstream closed, nothing more will come.
    this.dispatch(out);
    return out;
  }

  // Only the new text is scanned: `buf` (a partial line) has no line end, so rescanning it on every push made a
  // long line quadratic (issue 11: a 64 MiB line with no newline froze the plugin server).
  private feed(text: string, final: boolean): StreamEvent[] {
    const out: StreamEvent[] = [];
    let s = text;
    if (this.pendingCr && s.startsWith('\n')) s = s.slice(1);
    this.pendingCr = false;
    let start = 0;
    // Line ends are found with indexOf, which V8 runs natively, rather than a charCodeAt loop over every character
    // (the loop cost as much as JSON.parse of the event: issue 10). CR, LF and CRLF all end a line, as before.
    // The next CR and the next LF are each remembered until passed, so that text with few of one kind is not
    // searched to its end again for every line.
    let lf = s.indexOf('\n');
    let cr = s.indexOf('\r');
    const nextLineEnd = (from: number): number => {
      if (lf >= 0 && lf < from) lf = s.indexOf('\n', from);
      if (cr >= 0 && cr < from) cr = s.indexOf('\r', from);
      return cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
    };
    for (let i = nextLineEnd(0); i >= 0; i = nextLineEnd(start)) {
      const c = s.charCodeAt(i);
      const piece = s.slice(start, i);
      this.line(this.buf === '' ? piece : this.buf + piece, out);
      this.buf = '';
      if (c === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCr = true;
        }
      }
      start = i + 1;
    }
    const rest = this.buf + s.slice(start);
    this.buf = '';
    if (final) {
      if (rest.length > 0) this.line(rest, out);
    } else {
      if (rest.length > MAX_PENDING_EVENT) throw pendingTooLong('a stream line');
      this.buf = rest;
    }
    return out;
  }

  private line(line: string, out: StreamEvent[]): void {
    if (line === '') {
      this.dispatch(out);
      return;
    }
    if (line.charCodeAt(0) === 123 /* { */ && this.data.length === 0) {
      out.push({ data: line });
      return;
    }
    if (line.charCodeAt(0) === 58 /* : comment */) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') {
      // Each line is bounded, but an event is any number of them until a blank line: bound the whole event.
      this.pending += line.length + 1;
      if (this.pending > MAX_PENDING_EVENT) throw pendingTooLong('a stream event');
      this.data.push(value);
    }
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
  }

  private dispatch(out: StreamEvent[]): void {
    if (this.data.length === 0 && this.event === undefined) return;
    const ev: StreamEvent = { data: this.data.join('\n') };
    if (this.event !== undefined) ev.event = this.event;
    if (this.id !== undefined) ev.id = this.id;
    out.push(ev);
    this.data = [];
    this.pending = 0;
    this.event = undefined;
    this.id = undefined;
  }
}
