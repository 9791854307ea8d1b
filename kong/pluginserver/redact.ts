/**
 * What `-vv` may print of an RPC's arguments. Kong sends the plugin config (StartInstance: provider keys in
 * auth.header_value / param_value, AWS and GCP secrets, Azure client secrets) and, in Step replies, whatever a
 * PDK call returned: request headers with the client's own Authorization or api key, and request bodies (the
 * user's prompts). None of that belongs in a log file: values under secret-looking keys become `[REDACTED]`,
 * a Step's PDK result is shown by type and size only, and any long string is shown by length.
 */

const SECRET_KEY = /authorization|api[-_]?key|secret|password|passwd|token|header_value|param_value|access_key|service_account|credential|cookie|signature/i;
const SECRET_VALUE = /^(bearer|basic|aws4-hmac-sha256)\s|\bsk-[A-Za-z0-9_-]{8,}|\bAKIA[0-9A-Z]{12,}/i;
const MAX_STRING = 120;
const MAX_DEPTH = 8;

export const REDACTED = '[REDACTED]';

function size(v: unknown): string {
  if (Buffer.isBuffer(v)) return `<${v.length} bytes>`;
  if (typeof v === 'string') return `<${Buffer.byteLength(v)} bytes>`;
  if (Array.isArray(v)) return `<array of ${v.length}>`;
  if (v !== null && typeof v === 'object') return `<table of ${Object.keys(v).length} keys>`;
  return String(v);
}

function redactValue(v: unknown, depth: number): unknown {
  if (Buffer.isBuffer(v)) return size(v);
  if (typeof v === 'string') {
    if (SECRET_VALUE.test(v)) return REDACTED;
    // StartInstance's Config is the plugin config as a JSON string: redact inside it.
    if (v.length > 1 && v[0] === '{') {
      try {
        return redactValue(JSON.parse(v) as unknown, depth);
      } catch {
        /* not JSON: fall through */
      }
    }
    return v.length > MAX_STRING ? size(v) : v;
  }
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return size(v);
  if (Array.isArray(v)) return v.map((e) => redactValue(e, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, e] of Object.entries(v)) {
    Object.defineProperty(out, k, {
      value: SECRET_KEY.test(k) && e !== null && e !== undefined && e !== '' ? REDACTED : k === 'Data' ? size(e) : redactValue(e, depth + 1),
      enumerable: true,
    });
  }
  return out;
}

/** The RPC params as one log-safe line. */
export function redactForLog(params: unknown): string {
  try {
    return JSON.stringify(redactValue(params, 0)) ?? 'undefined';
  } catch {
    return '<unprintable>';
  }
}
