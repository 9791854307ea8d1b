/**
 * Reading a proxied request's body as nginx does, with bounded memory:
 * - `client_max_body_size` (Kong: nginx_http_client_max_body_size, default 0 = no limit): a declared
 *   Content-Length over it is refused with 413 before a byte is read, a chunked body as soon as the bytes read
 *   pass it; nothing read so far is kept.
 * - `client_body_buffer_size` (default 8k): a body that fits stays in memory; a larger one is written, as it
 *   arrives, to a file under `<prefix>/client_body_temp` (nginx's directory) and only its size is kept. The PDK's
 *   get_raw_body reads that file only when given a max_allowed_file_size (kong/pdk/request.lua), and the proxy
 *   streams it to the service from the file. The file is removed when the request ends.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open, type FileHandle, unlink } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';

export class BodyTooLarge extends Error {
  constructor() {
    super('client intended to send too large body');
    this.name = 'BodyTooLarge';
  }
}

export interface RequestBody {
  /** The body when it fit client_body_buffer_size; empty when it was spooled. */
  memory: Buffer;
  /** The spool file of a larger body. */
  file: string | undefined;
  size: number;
}

export interface BodyLimits {
  /** 0 = no limit. */
  maxSize: number;
  bufferSize: number;
  tempDir: string;
}

const EMPTY = Buffer.alloc(0);

export function tempDirFor(prefix: string): string {
  const dir = path.join(prefix, 'client_body_temp');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Throws BodyTooLarge when the declared length already exceeds the limit (nothing read). */
export function checkDeclaredLength(req: IncomingMessage, maxSize: number): void {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (maxSize > 0 && Number.isFinite(declared) && declared > maxSize) throw new BodyTooLarge();
}

export function readRequestBody(req: IncomingMessage, limits: BodyLimits): Promise<RequestBody> {
  checkDeclaredLength(req, limits.maxSize);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let file: string | undefined;
    let fh: FileHandle | undefined;
    let writing: Promise<unknown> = Promise.resolve();
    let failed = false;
    let spooling = false;
    const fail = (err: Error): void => {
      if (failed) return;
      failed = true;
      chunks.length = 0;
      // Drop the rest of the body as it arrives; the caller answers and closes the connection.
      req.removeAllListeners('data');
      req.resume();
      void writing
        .catch(() => undefined)
        .then(() => fh?.close())
        .catch(() => undefined)
        .then(() => (file ? unlink(file).catch(() => undefined) : undefined))
        .then(() => reject(err));
    };
    const spool = (data: Buffer | Buffer[]): void => {
      req.pause();
      writing = writing
        .then(async () => {
          if (!fh) {
            file = path.join(limits.tempDir, randomBytes(12).toString('hex'));
            fh = await open(file, 'wx', 0o600);
          }
          for (const c of Array.isArray(data) ? data : [data]) await fh.write(c);
        })
        .then(
          () => {
            if (!failed) req.resume();
          },
          (err: Error) => fail(err),
        );
    };
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (limits.maxSize > 0 && size > limits.maxSize) return fail(new BodyTooLarge());
      if (spooling || size > limits.bufferSize) {
        spooling = true;
        if (chunks.length > 0) {
          const pending = chunks.splice(0);
          pending.push(c);
          spool(pending);
        } else spool(c);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (failed) return;
      if (!spooling) return resolve({ memory: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size), file: undefined, size });
      void writing.then(async () => {
        if (failed) return;
        await fh?.close();
        resolve({ memory: EMPTY, file, size });
      });
    });
    req.on('error', (e) => fail(e));
  });
}

/** The bytes of a spooled body (bounded by the caller's max_allowed_file_size check). */
export function readSpooled(body: RequestBody): Buffer {
  return body.file ? readFileSync(body.file) : body.memory;
}

/** A fresh stream of the spooled body for each try of the upstream call. */
export function spooledStream(body: RequestBody): () => Readable {
  const f = body.file as string;
  return () => createReadStream(f);
}

export function removeSpooled(body: RequestBody): void {
  if (body.file) rmSync(body.file, { force: true });
}
