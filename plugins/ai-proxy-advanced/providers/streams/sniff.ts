/**
 * Picks the framing from the first meaningful byte, for providers whose stream format depends on a query flag
 * the operator may set through upstream_url (Gemini: a JSON array by default, SSE with `alt=sse`).
 * `[` → streamed JSON array; anything else → SSE (which also accepts bare JSON lines).
 */
import { type Framer, MAX_PENDING_EVENT, pendingTooLong, type StreamEvent } from './framer';
import { JsonArrayFramer } from './json-array';
import { SseFramer } from './sse';

export class SniffingFramer implements Framer {
  private inner: Framer | undefined;
  private held: Buffer[] = [];
  private heldBytes = 0;

  push(chunk: Uint8Array): StreamEvent[] {
    if (this.inner) return this.inner.push(chunk);
    let i = 0;
    while (i < chunk.length && (chunk[i] === 0x20 || chunk[i] === 0x0a || chunk[i] === 0x0d || chunk[i] === 0x09)) i++;
    if (i === chunk.length) {
      // Whitespace before the first byte that decides is held for the framer, bounded like any partial event.
      this.heldBytes += chunk.length;
      if (this.heldBytes > MAX_PENDING_EVENT) throw pendingTooLong('leading whitespace of a stream');
      this.held.push(Buffer.from(chunk));
      return [];
    }
    this.inner = chunk[i] === 0x5b ? new JsonArrayFramer() : new SseFramer();
    const all = Buffer.concat([...this.held, Buffer.from(chunk)]);
    this.held = [];
    return this.inner.push(all);
  }

  end(): StreamEvent[] {
    return this.inner ? this.inner.end() : [];
  }
}
