/**
 * Stream framing: turn upstream bytes, in whatever chunking the network delivers, into whole provider events.
 * Every framer buffers partial frames across `push` calls, so the output does not depend on where chunks split.
 */

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
