/**
 * application/vnd.amazon.eventstream framing (Bedrock ConverseStream). Binary messages:
 *   total length u32 | headers length u32 | prelude CRC32 | headers | payload | message CRC32
 * Header: name length u8 | name | value type u8 | value (type 7 = u16 length + UTF-8 string).
 * Both CRCs are checked: a corrupt frame is an error, never silently mistranslated.
 * Output matches Kong's (kong/tools/aws_stream.lua via shared.lua frame_to_events): `{headers, body}` JSON.
 */
import { crc32 } from 'node:zlib';
import { TranslationError } from '../../errors';
import { type Framer, MAX_PENDING_EVENT, type StreamEvent } from './framer';

export interface AwsEventMessage {
  headers: Record<string, string | number | boolean>;
  body: string;
}

const PRELUDE = 12;
const MAX_MESSAGE = MAX_PENDING_EVENT;

export function decodeAwsHeaders(buf: Buffer): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let o = 0;
  while (o < buf.length) {
    const nameLen = buf.readUInt8(o);
    o += 1;
    const name = buf.toString('utf8', o, o + nameLen);
    o += nameLen;
    const type = buf.readUInt8(o);
    o += 1;
    switch (type) {
      case 0: out[name] = true; break;
      case 1: out[name] = false; break;
      case 2: out[name] = buf.readInt8(o); o += 1; break;
      case 3: out[name] = buf.readInt16BE(o); o += 2; break;
      case 4: out[name] = buf.readInt32BE(o); o += 4; break;
      case 5: out[name] = Number(buf.readBigInt64BE(o)); o += 8; break;
      case 6: {
        const len = buf.readUInt16BE(o);
        out[name] = buf.toString('base64', o + 2, o + 2 + len);
        o += 2 + len;
        break;
      }
      case 7: {
        const len = buf.readUInt16BE(o);
        out[name] = buf.toString('utf8', o + 2, o + 2 + len);
        o += 2 + len;
        break;
      }
      case 8: out[name] = Number(buf.readBigInt64BE(o)); o += 8; break;
      case 9: out[name] = buf.toString('hex', o, o + 16); o += 16; break;
      default: throw new TranslationError(`AWS event-stream header '${name}' has unknown type ${type}`);
    }
  }
  return out;
}

export class AwsEventStreamFramer implements Framer<AwsEventMessage> {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes needed before anything can be decoded: a prelude, or the whole message whose prelude was read. */
  private need = PRELUDE;

  push(chunk: Uint8Array): AwsEventMessage[] {
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.size += chunk.byteLength;
    const out: AwsEventMessage[] = [];
    // Nothing is joined until the message is complete: joining on every chunk copied a 16 MiB message
    // ~1000 times when it came in 16 KiB pieces.
    if (this.size < this.need) return out;
    this.need = PRELUDE;
    let buf = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    let o = 0;
    while (buf.length - o >= PRELUDE) {
      const total = buf.readUInt32BE(o);
      const headersLen = buf.readUInt32BE(o + 4);
      if (crc32(buf.subarray(o, o + 8)) !== buf.readUInt32BE(o + 8)) throw new TranslationError('AWS event-stream prelude checksum mismatch');
      if (total < PRELUDE + 4 + headersLen || total > MAX_MESSAGE) throw new TranslationError(`AWS event-stream message length ${total} is invalid`);
      if (buf.length - o < total) {
        this.need = total;
        break;
      }
      const msg = buf.subarray(o, o + total);
      if (crc32(msg.subarray(0, total - 4)) !== msg.readUInt32BE(total - 4)) throw new TranslationError('AWS event-stream message checksum mismatch');
      out.push({
        headers: decodeAwsHeaders(msg.subarray(PRELUDE, PRELUDE + headersLen)),
        body: msg.toString('utf8', PRELUDE + headersLen, total - 4),
      });
      o += total;
    }
    buf = buf.subarray(o);
    // Copy the tail so the framer never pins a large upstream buffer.
    this.chunks = buf.length > 0 ? [Buffer.from(buf)] : [];
    this.size = buf.length;
    return out;
  }

  end(): AwsEventMessage[] {
    if (this.size > 0) throw new TranslationError(`AWS event-stream ended inside a message (${this.size} bytes left)`);
    return [];
  }
}

/** Kong-compatible view: each message as `{data: JSON.stringify({headers, body})}`. */
export class AwsEventStreamSseView implements Framer {
  private readonly inner = new AwsEventStreamFramer();
  push(chunk: Uint8Array): StreamEvent[] {
    return this.inner.push(chunk).map((m) => ({ data: JSON.stringify(m) }));
  }
  end(): StreamEvent[] {
    return this.inner.end().map((m) => ({ data: JSON.stringify(m) }));
  }
}
