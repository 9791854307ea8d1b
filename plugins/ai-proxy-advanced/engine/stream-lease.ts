/**
 * A provider stream the attempt loop hands to the stream endpoint, and the read that decides whether an attempt
 * produced one.
 *
 * Failover for streams lasts until the provider's first EVENT has been read and translated, not just until its
 * response head (issue 11): a provider that resets right after its head, times out before its first event, or
 * sends bytes its translator refuses has not sent the client anything yet, so the attempt fails like a buffered
 * one would and the next target may be tried. Only then does the endpoint send the head and the first frames.
 */
import type { Readable } from 'node:stream';
import type { StreamTranslator, TokenUsage } from '../providers/provider';
import { StreamEventTooLarge } from '../providers/streams/framer';

/** How a leased stream ended, reported to the balancer and target health once (attempts.ts settle). */
export type StreamOutcome =
  /** The provider streamed to its end (`complete`), or the client left first (usage only: a cut latency says nothing). */
  | { ok: true; usage: TokenUsage; complete: boolean }
  /** The provider's stream broke after its first event. */
  | { ok: false };

export interface StreamLease {
  readonly status: number;
  readonly headers: Record<string, string>;
  /** Client frames translated from what was read before the client saw anything (at least one event's worth). */
  readonly first: readonly string[];
  /** The provider's stream ended within that first read: `first` holds everything, `body` has nothing more. */
  readonly ended: boolean;
  /** The rest of the provider's stream, paused; read it through `translator` or destroy it. */
  readonly body: Readable;
  readonly translator: StreamTranslator;
  /** Reports the attempt (once; later calls do nothing). */
  finish(outcome: StreamOutcome): void;
}

export type FirstEvent =
  | { kind: 'event'; frames: string[]; ended: boolean }
  /** The stream errored or closed before its first event (reset, read timeout, bad compression). */
  | { kind: 'broken'; error: unknown }
  /** The translator refused what the provider sent before its first event. */
  | { kind: 'untranslatable'; error: unknown }
  | { kind: 'client-gone' };

/**
 * Reads `body` through `translator` until it yields its first client frame or the stream ends, then stops
 * reading (what follows stays buffered in `body` for the relay). Never rejects; on any outcome but 'event' the
 * caller destroys `body`.
 */
export function readFirstEvent(body: Readable, translator: StreamTranslator, clientGone?: AbortSignal): Promise<FirstEvent> {
  return new Promise((resolve) => {
    const frames: string[] = [];
    let done = false;
    const settle = (r: FirstEvent): void => {
      if (done) return;
      done = true;
      body.off('readable', onReadable);
      body.off('end', onEnd);
      body.off('error', onError);
      body.off('close', onClose);
      clientGone?.removeEventListener('abort', onGone);
      resolve(r);
    };
    // Pulled with read() rather than flowing: what follows the first event stays in the body's buffer, and the
    // body is not paused behind the relay's back (the relay's 'data' listener starts it flowing).
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while (!done && (chunk = body.read() as Buffer | null) !== null) {
        try {
          for (const f of translator.push(chunk)) frames.push(f);
        } catch (error) {
          // An endless event is the provider's failure (failover), not an answer we could not translate.
          settle(error instanceof StreamEventTooLarge ? { kind: 'broken', error } : { kind: 'untranslatable', error });
          return;
        }
        if (frames.length > 0) {
          settle({ kind: 'event', frames, ended: false });
          return;
        }
      }
    };
    const onEnd = (): void => {
      if (done) return;
      try {
        for (const f of translator.end()) frames.push(f);
      } catch (error) {
        settle({ kind: 'untranslatable', error });
        return;
      }
      settle({ kind: 'event', frames, ended: true });
    };
    const onError = (error: unknown): void => settle({ kind: 'broken', error });
    // Destroyed without an error or an end (should not happen): still an attempt that produced nothing.
    const onClose = (): void => settle({ kind: 'broken', error: new Error('the provider stream closed before its first event') });
    const onGone = (): void => settle({ kind: 'client-gone' });
    if (clientGone?.aborted) return onGone();
    clientGone?.addEventListener('abort', onGone, { once: true });
    body.on('error', onError);
    body.on('end', onEnd);
    body.on('close', onClose);
    body.on('readable', onReadable);
  });
}
