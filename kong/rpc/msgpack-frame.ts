/**
 * Where does the first msgpack value in a buffer end? Walks the value's headers without decoding anything and
 * jumps over str/bin/ext payloads by their length, so it costs a few steps per token however large the
 * payloads are. The stream decoder uses it to wait until a large message (a multi-megabyte raw body arrives
 * in 64 KB reads) is complete before handing it to msgpack-lite, instead of re-trying, and re-copying, the
 * growing message on every read.
 */

/** Where a scan of one value stopped: the next token's offset and how many values are still open. */
export interface ScanState {
  pos: number;
  remaining: number;
  /** Tokens looked at so far (tests use it to show a message is scanned once, however it is split). */
  tokens: number;
}

export function newScan(start: number): ScanState {
  return { pos: start, remaining: 1, tokens: 0 };
}

/**
 * Advances `st` over the value's tokens present in `buf[0, len)`. Returns the end offset (exclusive) when the
 * value is complete; otherwise the negated minimum length the buffer must reach before scanning can go on,
 * with `st` left at the first incomplete token, so the next call resumes there instead of starting over
 * (a message of many small tokens arriving in small reads is scanned once, not once per read). Returns 0
 * for a byte that starts no msgpack value (0xc1), leaving the error to the real decoder.
 */
export function msgpackScan(buf: Uint8Array, len: number, st: ScanState): number {
  let pos = st.pos;
  let remaining = st.remaining;
  let tokens = st.tokens;
  const u16 = (at: number): number => (buf[at]! << 8) | buf[at + 1]!;
  const u32 = (at: number): number => buf[at]! * 0x1000000 + ((buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!);
  const pause = (need: number): number => {
    st.pos = pos;
    st.remaining = remaining;
    st.tokens = tokens;
    return -need;
  };
  while (remaining > 0) {
    if (pos >= len) return pause(pos + 1);
    const b = buf[pos]!;
    tokens++;
    if (b <= 0x7f || b >= 0xe0) {
      pos += 1;
    } else if (b <= 0x8f) {
      remaining += 2 * (b & 0x0f);
      pos += 1;
    } else if (b <= 0x9f) {
      remaining += b & 0x0f;
      pos += 1;
    } else if (b <= 0xbf) {
      pos += 1 + (b & 0x1f);
    } else {
      // Fixed-size types: total bytes including the type byte.
      const fixed = FIXED[b - 0xc0]!;
      if (fixed > 0) {
        pos += fixed;
        remaining--;
        continue;
      }
      // Length-prefixed payloads and containers: [header bytes, kind].
      const h = HEADER[b - 0xc0];
      if (!h) return 0;
      const [headerLen, kind] = h;
      if (pos + headerLen > len) {
        tokens--;
        return pause(pos + headerLen);
      }
      const n = headerLen === 2 ? buf[pos + 1]! : headerLen === 3 ? u16(pos + 1) : headerLen === 5 ? u32(pos + 1) : 0;
      if (kind === 'payload') pos += headerLen + n;
      else if (kind === 'ext') pos += headerLen + 1 + n;
      else {
        remaining += kind === 'array' ? n : 2 * n;
        pos += headerLen;
      }
    }
    remaining--;
  }
  st.pos = pos;
  st.remaining = 0;
  st.tokens = tokens;
  return pos > len ? -pos : pos;
}

/**
 * Returns the end offset (exclusive) of the value starting at `start` when it is complete in `buf`; otherwise
 * the negated minimum end offset the buffer must reach before the value can be complete. Returns 0 for a byte
 * that starts no msgpack value (0xc1), leaving the error to the real decoder.
 */
export function msgpackValueEnd(buf: Uint8Array, start: number): number {
  return msgpackScan(buf, buf.length, newScan(start));
}

// Indexed by type byte - 0xc0: nil, (never used), false, true, bin/ext (see HEADER), float32, float64,
// uint8..64, int8..64, fixext 1/2/4/8/16, str8..32, array16/32, map16/32 (see HEADER).
const FIXED: readonly number[] = [
  1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9, 2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0,
];

type Kind = 'payload' | 'ext' | 'array' | 'map';
const HEADER: readonly ([2 | 3 | 5, Kind] | undefined)[] = (() => {
  const h: ([2 | 3 | 5, Kind] | undefined)[] = new Array(32).fill(undefined);
  h[0xc4 - 0xc0] = [2, 'payload']; // bin8
  h[0xc5 - 0xc0] = [3, 'payload']; // bin16
  h[0xc6 - 0xc0] = [5, 'payload']; // bin32
  h[0xc7 - 0xc0] = [2, 'ext']; // ext8
  h[0xc8 - 0xc0] = [3, 'ext']; // ext16
  h[0xc9 - 0xc0] = [5, 'ext']; // ext32
  h[0xd9 - 0xc0] = [2, 'payload']; // str8
  h[0xda - 0xc0] = [3, 'payload']; // str16
  h[0xdb - 0xc0] = [5, 'payload']; // str32
  h[0xdc - 0xc0] = [3, 'array']; // array16
  h[0xdd - 0xc0] = [5, 'array']; // array32
  h[0xde - 0xc0] = [3, 'map']; // map16
  h[0xdf - 0xc0] = [5, 'map']; // map32
  return h;
})();
