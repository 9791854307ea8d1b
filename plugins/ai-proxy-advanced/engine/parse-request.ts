/**
 * Parse the client body once, with Kong's checks and texts (OSS kong/llm/plugin/shared-filters/parse-request.lua
 * and normalize-request.lua): Content-Type defaults to application/json (Kong issue #14536 shows a missing
 * header must not skip parsing); a body that is not a JSON object answers Kong's
 * "content-type header does not match request body, or bad JSON formatting".
 */
import { BodyTooLargeError, InvalidRequestError, UnsupportedFeatureError } from '../errors';
import { readMultipartForm, type MultipartForm } from './route-types/multipart';

export const BAD_JSON_MESSAGE = 'content-type header does not match request body, or bad JSON formatting';

/**
 * Deepest nesting of arrays and objects taken: lua-cjson's default `decode_max_depth` (1000), past which Kong's
 * `cjson.decode` fails and the client gets the bad-JSON 400 above. Without a limit a body nested ~4,500 deep
 * parsed fine and then overflowed the stack in JSON.stringify on the way out: a 500 for a client mistake.
 */
export const MAX_JSON_DEPTH = 1000;

/**
 * Whether the JSON text opens more than `max` arrays/objects at once, brackets inside strings not counted. One
 * pass without recursion, before JSON.parse builds anything; texts shorter than `max` cannot nest that deep and
 * are not scanned. It reads the decoded text JSON.parse gets (the ASCII characters that matter here are the same
 * code units there as bytes in the body, and an invalid byte decodes to U+FFFD, never to one of them), and crosses
 * a string with indexOf from quote to quote instead of character by character: a chat body is mostly message
 * text, so the scan costs about what its structure costs, not its size (a quote preceded by an odd run of
 * backslashes is escaped and does not end the string).
 */
export function nestedDeeperThan(text: string, max: number): boolean {
  const n = text.length;
  if (n <= max) return false;
  let depth = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = i;
      for (;;) {
        end = text.indexOf('"', end + 1);
        // Unterminated: nothing after it counts (JSON.parse refuses the body anyway).
        if (end < 0) return false;
        // The opening quote is not a backslash, so this run stops inside the string.
        let slashes = 0;
        while (text.charCodeAt(end - 1 - slashes) === 0x5c) slashes++;
        if ((slashes & 1) === 0) break;
      }
      i = end;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

export interface ParsedBody {
  readonly raw: Buffer;
  /** The JSON body; `{}` for a multipart or empty body (pass-through route types only). */
  readonly json: Record<string, unknown>;
  /**
   * A native `llm_format` request (engine/llm-format.ts): the client's body as sent (`raw` is its bytes), while
   * `json` holds what the engine checks of it.
   */
  readonly native?: Record<string, unknown>;
  /** A multipart/form-data body's text fields (pass-through route types only). */
  readonly form?: MultipartForm;
}

/**
 * @param maxSize `max_request_body_size`; 0 (3.10+) or unset means unlimited. Kong refuses a larger body with
 *   its generic 400 because `get_body` returns nil; we answer 413 naming the limit, which says what went wrong.
 */
function checkBodySize(raw: Buffer, maxSize: number | null | undefined): void {
  if (maxSize != null && maxSize > 0 && raw.length > maxSize) {
    throw new BodyTooLargeError(`request body is ${raw.length} bytes, more than max_request_body_size (${maxSize})`);
  }
}

export function parseRequestBody(raw: Buffer, contentType: string | undefined, maxSize: number | null | undefined): ParsedBody {
  checkBodySize(raw, maxSize);
  const ct = (contentType ?? 'application/json').toLowerCase();
  if (ct.includes('multipart/form-data')) {
    throw new UnsupportedFeatureError('multipart/form-data request bodies are not supported by this version of ai-proxy-advanced');
  }
  if (!ct.includes('json')) throw new InvalidRequestError(BAD_JSON_MESSAGE);
  const text = raw.toString('utf8');
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) throw new InvalidRequestError(BAD_JSON_MESSAGE);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidRequestError(BAD_JSON_MESSAGE);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new InvalidRequestError(BAD_JSON_MESSAGE);
  return { raw, json: json as Record<string, unknown> };
}

/**
 * The body for a config with pass-through route types (engine/route-types): besides JSON, no body at all (GET,
 * DELETE) and multipart/form-data (uploads, audio, image edits), both within `max_request_body_size`.
 */
export async function parsePassThroughBody(raw: Buffer, contentTypes: readonly string[] | undefined, maxSize: number | null | undefined): Promise<ParsedBody> {
  const contentType = contentTypes?.[0];
  const ct = (contentType ?? '').toLowerCase();
  // The form is read with the first Content-Type line, but the provider gets every line, joined: with two, the
  // boundary its parser takes need not be the one whose `model` field was checked here (acls, model_alias).
  if (contentTypes !== undefined && contentTypes.length > 1 && contentTypes.some((l) => l.toLowerCase().includes('multipart/form-data'))) {
    throw new InvalidRequestError('multipart/form-data request with more than one Content-Type header');
  }
  if (ct.includes('multipart/form-data')) {
    checkBodySize(raw, maxSize);
    return { raw, json: {}, form: await readMultipartForm(raw, contentType as string) };
  }
  if (raw.length === 0) return { raw, json: {} };
  return parseRequestBody(raw, contentType, maxSize);
}
