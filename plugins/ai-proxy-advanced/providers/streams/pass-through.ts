/**
 * The stream of a native request (`llm_format` other than openai): the provider's bytes go to the client as
 * they came (Kong's normalize-sse-chunk leaves ngx.arg[1] alone for native formats), while the driver's own
 * translator reads them alongside, only for what Kong reads from them: usage, the generated text for the
 * payload log (Kong: from_format on each event, "stream/<route_type>").
 *
 * Failover holds until the first event, as for translated streams (engine/stream-lease.ts): bytes are held
 * until the reading translator made something of them, or HOLD_LIMIT bytes came without (a provider that
 * sent that much has answered). A reader that fails on bytes the client may still understand stops reading;
 * the bytes keep flowing and usage falls back to the reader's estimate so far.
 */
import type { StreamTranslator, TokenUsage } from '../provider';

export const HOLD_LIMIT = 64 * 1024;

export function createPassThroughTranslator(reader: StreamTranslator): StreamTranslator {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let open = false;
  let reading = true;
  // What the reader had counted when it stopped reading; nothing read after that counts.
  let frozen: { usage: TokenUsage; text: string } | undefined;
  const read = (f: () => string[]): void => {
    if (!reading) return;
    try {
      if (f().length > 0) open = true;
    } catch {
      reading = false;
      open = true;
      frozen = { usage: reader.usage(), text: reader.text() };
    }
  };
  const take = (): string[] => {
    if (!open || heldBytes === 0) return [];
    const out = Buffer.concat(held, heldBytes).toString('latin1');
    held = [];
    heldBytes = 0;
    return [out];
  };
  return {
    passThrough: true,
    push(chunk) {
      read(() => reader.push(chunk));
      held.push(Buffer.from(chunk));
      heldBytes += chunk.length;
      if (heldBytes >= HOLD_LIMIT) open = true;
      return take();
    },
    end() {
      read(() => reader.end());
      open = true;
      return take();
    },
    usage: () => frozen?.usage ?? reader.usage(),
    text: () => frozen?.text ?? reader.text(),
  };
}
