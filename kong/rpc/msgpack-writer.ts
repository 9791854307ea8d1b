/**
 * A growable buffer with the MessagePack primitives both encoders need. The Lua-style encoder
 * (lua-msgpack.ts) and the plugin server's JS-style reply encoder (kong/pluginserver/js-msgpack.ts) differ only
 * in which of these they pick for a value.
 */
/** Longest string `str` copies in JS when it is ASCII (longer ones: one Buffer#write is cheaper than the loop). */
const ASCII_INLINE_MAX = 64;

export class MsgpackWriter {
  buf: Buffer;
  pos = 0;

  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** The bytes written so far (a view: copy it if the writer is reused). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }

  private head(type: number, width: 1 | 2 | 4, n: number): void {
    this.ensure(1 + width);
    this.buf[this.pos++] = type;
    if (width === 1) this.buf[this.pos] = n;
    else if (width === 2) this.buf.writeUInt16BE(n, this.pos);
    else this.buf.writeUInt32BE(n, this.pos);
    this.pos += width;
  }

  nil(): void {
    this.u8(0xc0);
  }

  bool(v: boolean): void {
    this.u8(v ? 0xc3 : 0xc2);
  }

  float64(v: number): void {
    this.ensure(9);
    this.buf[this.pos++] = 0xcb;
    this.pos = this.buf.writeDoubleBE(v, this.pos);
  }

  /** The smallest of fixint, (u)int8/16/32/64 for an integer. */
  int(n: number | bigint): void {
    if (typeof n === 'number' && n >= -0x80000000 && n <= 0xffffffff) {
      if (n >= 0) {
        if (n < 0x80) return this.u8(n);
        if (n <= 0xff) return this.head(0xcc, 1, n);
        if (n <= 0xffff) return this.head(0xcd, 2, n);
        return this.head(0xce, 4, n);
      }
      if (n >= -0x20) return this.u8(n & 0xff);
      this.ensure(5);
      if (n >= -0x80) {
        this.buf[this.pos++] = 0xd0;
        this.pos = this.buf.writeInt8(n, this.pos);
      } else if (n >= -0x8000) {
        this.buf[this.pos++] = 0xd1;
        this.pos = this.buf.writeInt16BE(n, this.pos);
      } else {
        this.buf[this.pos++] = 0xd2;
        this.pos = this.buf.writeInt32BE(n, this.pos);
      }
      return;
    }
    const big = BigInt(n);
    if (big > 0xffffffffffffffffn || big < -0x8000000000000000n) {
      throw new RangeError(`integer ${big} does not fit in 64 bits`);
    }
    this.ensure(9);
    if (big >= 0n) {
      this.buf[this.pos++] = 0xcf;
      this.pos = this.buf.writeBigUInt64BE(big, this.pos);
    } else {
      this.buf[this.pos++] = 0xd3;
      this.pos = this.buf.writeBigInt64BE(big, this.pos);
    }
  }

  /** str; `str8` selects whether 32..255-byte strings use str8 (msgpack 2013) or str16 (the older raw spec). */
  str(s: string, str8: boolean): void {
    const n = s.length;
    // Short ASCII strings (method names, map keys, header names: most strings on this socket) are copied byte by
    // byte here: cheaper than a Buffer#write call into C++ per string. Any other character falls through.
    if (n <= ASCII_INLINE_MAX) {
      const head = n < 32 ? 1 : str8 ? 2 : 3;
      this.ensure(head + n);
      const buf = this.buf;
      const at = this.pos + head;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c > 0x7f) break;
        buf[at + i] = c;
      }
      if (i === n) {
        if (head === 1) buf[this.pos] = 0xa0 | n;
        else if (head === 2) {
          buf[this.pos] = 0xd9;
          buf[this.pos + 1] = n;
        } else {
          buf[this.pos] = 0xda;
          buf[this.pos + 1] = n >> 8;
          buf[this.pos + 2] = n & 0xff;
        }
        this.pos = at + n;
        return;
      }
    }
    // Write the body first, then fix the header width.
    const max = n * 3;
    this.ensure(5 + max);
    let len: number;
    if (max < 32) {
      len = this.buf.write(s, this.pos + 1, 'utf8');
      this.buf[this.pos] = 0xa0 | len;
      this.pos += 1 + len;
      return;
    }
    len = Buffer.byteLength(s, 'utf8');
    if (len < 32) this.u8(0xa0 | len);
    else if (str8 && len <= 0xff) this.head(0xd9, 1, len);
    else if (len <= 0xffff) this.head(0xda, 2, len);
    else this.head(0xdb, 4, len);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bin(b: Uint8Array): void {
    const len = b.length;
    if (len <= 0xff) this.head(0xc4, 1, len);
    else if (len <= 0xffff) this.head(0xc5, 2, len);
    else this.head(0xc6, 4, len);
    this.ensure(len);
    this.buf.set(b, this.pos);
    this.pos += len;
  }

  arrayHead(n: number): void {
    if (n < 16) this.u8(0x90 | n);
    else if (n <= 0xffff) this.head(0xdc, 2, n);
    else this.head(0xdd, 4, n);
  }

  mapHead(n: number): void {
    if (n < 16) this.u8(0x80 | n);
    else if (n <= 0xffff) this.head(0xde, 2, n);
    else this.head(0xdf, 4, n);
  }

  /** The msgpack timestamp extension (type -1), as @msgpack/msgpack writes a Date. */
  timestamp(d: Date): void {
    const ms = d.getTime();
    const sec = Math.floor(ms / 1000);
    const nsec = (ms - sec * 1000) * 1e6;
    if (sec >= 0 && sec <= 0xffffffff && nsec === 0) {
      this.ensure(6);
      this.buf[this.pos++] = 0xd6;
      this.buf[this.pos++] = 0xff;
      this.pos = this.buf.writeUInt32BE(sec, this.pos);
    } else if (sec >= 0 && sec < 2 ** 34) {
      this.ensure(10);
      this.buf[this.pos++] = 0xd7;
      this.buf[this.pos++] = 0xff;
      this.pos = this.buf.writeUInt32BE(nsec * 4 + Math.floor(sec / 2 ** 32), this.pos);
      this.pos = this.buf.writeUInt32BE(sec % 2 ** 32, this.pos);
    } else {
      this.ensure(15);
      this.buf[this.pos++] = 0xc7;
      this.buf[this.pos++] = 12;
      this.buf[this.pos++] = 0xff;
      this.pos = this.buf.writeUInt32BE(nsec, this.pos);
      this.pos = this.buf.writeBigInt64BE(BigInt(sec), this.pos);
    }
  }
}
