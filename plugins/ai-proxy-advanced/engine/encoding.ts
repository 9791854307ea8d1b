/**
 * Gzip to clients that ask for it (Kong spec/03-plugins/38-ai-proxy/08-encoding_integration_spec.lua: with
 * `Accept-Encoding: gzip, identity` every answer that came from the provider, 200, 401, 500 and Kong's 500
 * "transformation failed", reaches the client gzipped). Kong gets there by passing the client's Accept-Encoding
 * to the provider, inflating to translate and deflating again; the plugin asks providers for identity (one
 * decompression path, bounded in upstream.ts) and compresses the answer itself when the client accepts gzip.
 * Answers the plugin makes before any provider call (400s) are not compressed, as Kong's are not.
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';

const gzip = promisify(gzipCb);

/** Longest Accept-Encoding value parsed; a longer one is read as not asking for gzip. */
const MAX_ACCEPT_ENCODING = 1024;

/** RFC 9110 §12.5.3: gzip (or x-gzip, or `*` when gzip is not named) with a q-value above 0. */
export function acceptsGzip(header: string | undefined): boolean {
  if (header === undefined || header.length > MAX_ACCEPT_ENCODING) return false;
  let star: boolean | undefined;
  for (const part of header.split(',')) {
    const [token = '', ...params] = part.split(';').map((s) => s.trim());
    let q = 1;
    for (const p of params) {
      const m = /^q=([01](?:\.\d{0,3})?)$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    const name = token.toLowerCase();
    if (name === 'gzip' || name === 'x-gzip') return q > 0;
    if (name === '*') star = q > 0;
  }
  return star === true;
}

/** The body gzipped, with the headers that say so; an empty body or one already encoded is left as is. */
export async function gzipAnswer(body: Buffer | string, headers: Record<string, string>): Promise<Buffer | string> {
  if (body.length === 0 || headers['content-encoding'] !== undefined) return body;
  const out = await gzip(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  headers['content-encoding'] = 'gzip';
  headers['vary'] = headers['vary'] ? `${headers['vary']}, Accept-Encoding` : 'Accept-Encoding';
  delete headers['content-length'];
  return out;
}
