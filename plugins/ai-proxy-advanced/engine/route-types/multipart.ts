/**
 * multipart/form-data bodies (file uploads, audio transcriptions and translations, image edits, video): read
 * only for their text fields (`model`), with Node's own parser (undici's `Response.formData`, no dependency),
 * and sent on as the client's bytes. The body was already held to `max_request_body_size` (parse-request.ts),
 * so the parser never sees more than that; a body it cannot parse is the client's 400.
 *
 * A create request that names no model gets the configured one as one more part, written before the closing
 * delimiter (RFC 7578 / RFC 2046 §5.1.1): the client's parts, files included, go out byte for byte.
 */
import { InvalidRequestError } from '../../errors';

export interface MultipartForm {
  readonly boundary: string;
  /** The text fields (first value of each name); file parts are not kept. */
  readonly fields: ReadonlyMap<string, string>;
}

/** Text fields kept per form, and the longest value kept: `model`, `purpose`, `stream` are short. */
const MAX_FIELDS = 64;
const MAX_FIELD_CHARS = 4096;

/** RFC 9110 §5.6.2 token. */
const TOKEN_CHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
/** RFC 2046 §5.1.1: 1-70 bchars, the last not a space. */
const BOUNDARY = /^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$/;

function refuse(why: string): never {
  throw new InvalidRequestError(`multipart/form-data request without a valid boundary: ${why}`);
}

/**
 * The boundary of a multipart/form-data Content-Type, read one way only. The form is read here by undici (WHATWG
 * MIME type parsing: the first `boundary` wins, quoted-pair escapes are undone, text after a closing quote and
 * an unterminated quote are tolerated, a space may sit in an unquoted value), and the client's Content-Type goes
 * on to the provider, whose parser may read the same header otherwise (the last `boundary`, RFC 9110 rules, a
 * plain search for `boundary=`). Where two parsers disagree on the boundary, they disagree on the fields, and
 * `model` is checked here (acls, model_alias, own model): so the header must be strict RFC 9110
 * (`multipart/form-data *( OWS ";" OWS [ token "=" ( token / quoted-string ) ] )`), with no escape and no `;`
 * in a quoted value, exactly one `boundary` (any case), and that boundary valid for RFC 2046. Anything else is
 * a 400: every parser reads what is accepted the same way.
 */
export function boundaryOf(contentType: string): string {
  const n = contentType.length;
  let i = contentType.indexOf(';');
  const essence = (i < 0 ? contentType : contentType.slice(0, i)).replace(/^[ \t]+|[ \t]+$/g, '');
  if (essence.toLowerCase() !== 'multipart/form-data') refuse('the media type is not multipart/form-data');
  const boundaries: string[] = [];
  while (i >= 0 && i < n) {
    i++; // past ';'
    while (contentType[i] === ' ' || contentType[i] === '\t') i++;
    if (i >= n) break;
    if (contentType[i] === ';') continue; // an empty parameter
    const nameStart = i;
    while (i < n && TOKEN_CHAR.test(contentType[i] as string)) i++;
    const name = contentType.slice(nameStart, i);
    if (name === '' || contentType[i] !== '=') refuse('a parameter is not name=value');
    i++;
    let value: string;
    if (contentType[i] === '"') {
      const close = contentType.indexOf('"', i + 1);
      if (close < 0) refuse('a quoted value is not closed');
      value = contentType.slice(i + 1, close);
      if (/[\\;]/.test(value)) refuse('a quoted value holds an escape or a semicolon');
      i = close + 1;
    } else {
      const valueStart = i;
      while (i < n && TOKEN_CHAR.test(contentType[i] as string)) i++;
      value = contentType.slice(valueStart, i);
      if (value === '') refuse('a parameter has no value');
    }
    while (contentType[i] === ' ' || contentType[i] === '\t') i++;
    if (i < n && contentType[i] !== ';') refuse('text follows a parameter value');
    if (name.toLowerCase() === 'boundary') boundaries.push(value);
  }
  if (boundaries.length !== 1) refuse(boundaries.length === 0 ? 'no boundary parameter' : 'more than one boundary parameter');
  const b = boundaries[0] as string;
  if (!BOUNDARY.test(b)) refuse('RFC 2046 allows 1-70 letters, digits and \'()+_,-./:=? (no trailing space)');
  return b;
}

export async function readMultipartForm(raw: Buffer, contentType: string): Promise<MultipartForm> {
  const boundary = boundaryOf(contentType);
  let form: FormData;
  try {
    form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
  } catch (err) {
    throw new InvalidRequestError('multipart/form-data body could not be parsed', { cause: err });
  }
  const fields = new Map<string, string>();
  for (const [name, value] of form) {
    if (typeof value !== 'string' || fields.has(name)) continue;
    if (fields.size >= MAX_FIELDS) break;
    fields.set(name, value.length > MAX_FIELD_CHARS ? value.slice(0, MAX_FIELD_CHARS) : value);
  }
  return { boundary, fields };
}

function checkModelValue(model: string): void {
  // The configured (or template-resolved) name is written into a part header block: no line breaks or quotes.
  if (/[\r\n"]/.test(model)) throw new InvalidRequestError('model may not contain line breaks or quotes');
}

/** The client's form with a `model` part added before the closing delimiter. */
export function withModelPart(raw: Buffer, boundary: string, model: string): Buffer {
  checkModelValue(model);
  const close = raw.lastIndexOf(`--${boundary}--`);
  if (close < 0) throw new InvalidRequestError('multipart/form-data body has no closing delimiter');
  const part = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${model}\r\n`, 'utf8');
  return Buffer.concat([raw.subarray(0, close), part, raw.subarray(close)]);
}

/** A part header block naming the text field `model` (a file part of that name is not the field). */
const MODEL_FIELD = /^content-disposition:[ \t]*form-data[ \t]*;(?:[^\r\n]*;)?[ \t]*name="?model"?[ \t]*(?:;|$)/im;

/**
 * The client's form with the value of every `model` field replaced (a request that named this target's
 * `model_alias`: the provider gets `model.name`, as a JSON body does). Parts are found by their delimiters
 * (CRLF `--boundary`, RFC 2046 §5.1.1), which the content of a part never contains; everything else, files
 * included, goes out byte for byte.
 */
export function withModelValue(raw: Buffer, boundary: string, model: string): Buffer {
  checkModelValue(model);
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const starts: number[] = [];
  for (let at = raw.indexOf(delimiter); at >= 0; at = raw.indexOf(delimiter, at + delimiter.length)) {
    if (at === 0 || (raw[at - 2] === 0x0d && raw[at - 1] === 0x0a)) starts.push(at);
  }
  const out: Buffer[] = [];
  let copied = 0;
  for (let i = 0; i + 1 < starts.length; i++) {
    const headStart = (starts[i] as number) + delimiter.length + 2;
    const bodyEnd = (starts[i + 1] as number) - 2;
    const headEnd = raw.indexOf('\r\n\r\n', headStart, 'latin1');
    if (headEnd < 0 || headEnd >= bodyEnd) continue;
    const head = raw.toString('latin1', headStart, headEnd);
    if (!MODEL_FIELD.test(head) || /filename\*?=/i.test(head)) continue;
    out.push(raw.subarray(copied, headEnd + 4), Buffer.from(model, 'utf8'));
    copied = bodyEnd;
  }
  if (out.length === 0) throw new InvalidRequestError('multipart/form-data body: the model field could not be found');
  out.push(raw.subarray(copied));
  return Buffer.concat(out);
}
