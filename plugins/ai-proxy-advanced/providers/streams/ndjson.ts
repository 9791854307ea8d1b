/** application/x-ndjson / application/stream+json framing: one JSON document per line, blank lines skipped. */
import { type Framer, type StreamEvent, Utf8Stream } from './framer';

export class NdjsonFramer implements Framer {
  private readonly utf8 = new Utf8Stream();
  private buf = '';

  push(chunk: Uint8Array): StreamEvent[] {
    return this.feed(this.utf8.push(chunk), false);
  }

  end(): StreamEvent[] {
    return this.feed(this.utf8.end(), true);
  }

  private feed(text: string, final: boolean): StreamEvent[] {
    const out: StreamEvent[] = [];
    const s = this.buf + text;
    let start = 0;
    for (let i = s.indexOf('\n'); i >= 0; i = s.indexOf('\n', start)) {
      const line = s.slice(start, i).trim();
      if (line) out.push({ data: line });
      start = i + 1;
    }
    this.buf = s.slice(start);
    if (final) {
      const line = this.buf.trim();
      if (line) out.push({ data: line });
      this.buf = '';
    }
    return out;
  }
}
