/**
 * Admin API request bodies as Kong accepts them (kong/api/api_helpers.lua): JSON, or form-urlencoded with
 * dotted keys for nested fields (`config.model.name=x`), `key[]` or repeated keys for arrays, and numbers
 * and booleans given as text (Kong converts them using the schema; here: numeric and true/false strings).
 */
import type { IncomingMessage } from 'node:http';
import { isPlainObject } from '../schema/kong-schema';

/** A request the Admin API cannot read: 400 {"message": …}. */
export class BadRequest extends Error {}

function read(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function scalar(v: string): unknown {
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

export function parseForm(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of new URLSearchParams(text)) {
    const isArray = rawKey.endsWith('[]');
    const path = (isArray ? rawKey.slice(0, -2) : rawKey).split('.');
    let cur = out;
    for (const seg of path.slice(0, -1)) {
      if (!isPlainObject(cur[seg])) cur[seg] = {};
      cur = cur[seg] as Record<string, unknown>;
    }
    const last = path[path.length - 1] as string;
    const v = scalar(value);
    const existing = cur[last];
    if (isArray) cur[last] = Array.isArray(existing) ? [...existing, v] : [v];
    else if (existing !== undefined) cur[last] = Array.isArray(existing) ? [...existing, v] : [existing, v];
    else cur[last] = v;
  }
  return out;
}

export async function parseBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = await read(req);
  if (text.trim() === '') return {};
  const ct = (req.headers['content-type'] ?? '').toLowerCase();
  if (ct.includes('application/x-www-form-urlencoded')) return parseForm(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BadRequest('Cannot parse JSON body');
  }
  if (!isPlainObject(parsed)) {
    throw new BadRequest('Cannot parse JSON body');
  }
  return parsed;
}
