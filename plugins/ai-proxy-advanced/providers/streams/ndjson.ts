/** application/x-ndjson / application/stream+json framing: one JSON document per line, blank lines skipped. */
import { type Framer, MAX_PENDING_EVENT, pendingTooLong, type StreamEvent, Utf8Stream } from './framer';

export class NdjsonFramer implements Framer {
  private readonly utf8 = new Utf8Stream();
  private buf = '';

  push(chunk: Uint8Array): StreamEvent[] {
    return this.feed(this.utf8.push(chunk), false);
  }

  end(): StreamEvent[] {
    return this.feed(this.utf8.end(), true);
  }

  // Only the new text is scanned for line ends (the held partial line has none): no quadratic rescans.
  private feed(text: string, final: boolean): StreamEvent[] {
    const out: StreamEvent[] = [];
    let start = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', start)) {
      const line = (this.buf + text.slice(start, i)).trim();
      this.buf = '';
      if (line) out.push({ data: line });
      start = i + 1;
    }
    this.buf += text.slice(start);
    if (!final && this.buf.length > MAX_PENDING_EVENT) throw pendingTooLong('a stream line');
    if (final) {
      const line = this.buf.trim();
      if (line) out.push({ data: line });
      this.buf = '';
    }
    return out;
  }
}
