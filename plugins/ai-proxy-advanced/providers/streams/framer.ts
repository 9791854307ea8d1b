/**
 * Stream framing: turn upstream bytes, in whatever chunking the network delivers, into whole provider events.
 * Every framer buffers partial frames across `push` calls, so the output does not depend on where chunks split.
 */

/**
 * Most characters of one line or one event a framer holds while waiting for its end. More is a broken stream,
 * not an event: without it a provider (or anything posing as one) that never ends an event grows the plugin
 * server's memory without bound (2 GB measured with `data:` lines and no blank line). It is the provider's
 * failure, as an oversized buffered answer is (engine/upstream.ts MAX_RESPONSE_BYTES): before the first event
 * the attempt fails over per failover_criteria (`error`), after it the stream is cut as broken.
 */
export const MAX_PENDING_EVENT = 16 * 1024 * 1024;

/** A line or event of the provider's stream went past MAX_PENDING_EVENT (classified in engine/upstream.ts). */
export class StreamEventTooLarge extends Error {
  readonly code = 'AIPA_UPSTREAM_EVENT_TOO_LARGE';
}

export function pendingTooLong(what: string): StreamEventTooLarge {
  return new StreamEventTooLarge(`${what} is longer than ${MAX_PENDING_EVENT} characters`);
}

/** One provider event. SSE fills `event`/`id` when present; other framings put the whole frame in `data`. */
export interface StreamEvent {
  event?: string;
  id?: string;
  data: string;
}

export interface Framer<E = StreamEvent> {
  push(chunk: Uint8Array): E[];
  /** Upstream ended: whatever complete events remain buffered. */
  end(): E[];
}

/** Incremental UTF-8 decoding: a multi-byte character split across chunks is held until complete. */
export class Utf8Stream {
  private readonly decoder = new TextDecoder('utf-8');
  push(chunk: Uint8Array): string {
    return this.decoder.decode(chunk, { stream: true });
  }
  end(): string {
    return this.decoder.decode();
  }
}
