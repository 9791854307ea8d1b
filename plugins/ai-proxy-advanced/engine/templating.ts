/**
 * `$(headers.x)`, `$(uri_captures.x)`, `$(query_params.x)` in `model.name` and every string under
 * `model.options`, with Kong's rules and error texts (OSS kong/llm/drivers/shared.lua merge_model_options /
 * conf_from_request): the first `$(...)` of a value is replaced, text around it is kept, the expression must be
 * exactly `source.key`. The provider is never templated (Kong reads it from the unmerged config).
 *
 * Beyond Kong (issue 11): a template value comes from the client, so it can never decide where the request goes
 * or what goes into a header. Kong substitutes the text as is, so with `upstream_url: "http://host:1234$(headers.p)"`
 * a header `p: @attacker:80/x` sent the request, and the configured provider key, to another host. Here each
 * templated value is checked (or encoded) for the place its text lands in (`placementOf`), before any upstream
 * call, and a refusal is a 400 naming the template:
 *  - every value: printable ASCII only (it may end up in a header: the model name in X-Kong-LLM-Model,
 *    `anthropic_version`, ...), at most MAX_VALUE_LENGTH characters;
 *  - in a URL's host (`upstream_url`, `gemini.api_endpoint`) or an option that becomes one (`azure_instance`,
 *    `databricks.workspace_instance_id`, `bedrock.aws_region`): a DNS label;
 *  - in a URL's scheme, user info or port: refused, whatever the value;
 *  - in a path segment (a URL's path, `upstream_path`, `azure_deployment_id`, `gemini.project_id`, ...):
 *    `/ \ ? # @` and `..` refused, anything else outside RFC 3986 `pchar` percent-encoded; a template right
 *    after a URL's authority (`http://host:1234$(headers.p)`) must be a whole path starting with `/`;
 *  - a template that starts `upstream_path` is a whole path (Kong's Azure pattern `upstream_path:
 *    $(uri_captures.operation_path)`, 05-azure_integration_spec.lua "override path from path params"): each of its
 *    segments is checked as above; the driver appends it to the provider's base with its leading slashes
 *    collapsed to one (translator-kit/url.ts), so it cannot reach another host;
 *  - in a URL's query or fragment: percent-encoded (it stays one value);
 *  - the model name (request body, header, some providers' paths): `\ ? # %` and `.`/`..` segments refused
 *    (`/`, `@` and `:` are common in model names: `org/model`, `claude-3-5-sonnet@20240620`, `llama3:8b`).
 */
import type { ModelConfig } from '../../../schemas/config';
import { InvalidRequestError } from '../errors';
import { modelNameProblem } from '../providers/translator-kit/model-name';
import { withOwn } from '../providers/translator-kit/assign-own';

export interface TemplateSources {
  header(name: string): string | undefined;
  queryArg(name: string): string | undefined;
  uriCapture(name: string): string | undefined;
}

const EXPR = /\$\((.*?)\)/;

/** Longest template value taken: a header may be 8 KiB, a model name or a path segment never is. */
export const MAX_VALUE_LENGTH = 1024;

/** True when the model block contains a template anywhere (decided once per config, not per request). */
export function hasTemplates(value: unknown): boolean {
  if (typeof value === 'string') return EXPR.test(value);
  if (value && typeof value === 'object') return Object.values(value).some(hasTemplates);
  return false;
}

/** True when some template reads `uri_captures` (so the engine fetches them from Kong). */
export function usesUriCaptures(value: unknown): boolean {
  if (typeof value === 'string') return /\$\(uri_captures\./.test(value);
  if (value && typeof value === 'object') return Object.values(value).some(usesUriCaptures);
  return false;
}

/** Where a templated value's text lands. */
export type Placement =
  | { kind: 'text' }
  | { kind: 'model' }
  | { kind: 'host-label' }
  | { kind: 'path-segment' }
  | { kind: 'path' }
  | { kind: 'url'; component: UrlComponent; prefixed: boolean };

type UrlComponent = 'scheme' | 'userinfo' | 'port' | 'host' | 'path-start' | 'path' | 'query' | 'fragment' | 'unparsable';

/** Options under `model.options` whose text becomes part of a URL (by the drivers in providers/). */
const OPTION_PLACEMENTS: Readonly<Record<string, Placement['kind'] | 'url-or-host'>> = {
  upstream_url: 'url-or-host',
  'gemini.api_endpoint': 'url-or-host',
  azure_instance: 'host-label',
  'databricks.workspace_instance_id': 'host-label',
  'bedrock.aws_region': 'host-label',
  azure_deployment_id: 'path-segment',
  upstream_path: 'path-segment',
  'gemini.project_id': 'path-segment',
  'gemini.location_id': 'path-segment',
  'gemini.endpoint_id': 'path-segment',
};

/** Letters and digits only: survives URL parsing unchanged in every component, lower-case as hosts become. */
const MARK = 'aipatemplatemark0';

/**
 * Where the first `$(...)` of `raw` (an option at `field`, e.g. `model.options.upstream_url`) lands.
 * A URL is read as WHATWG URL would for http(s): scheme `://` authority (user info `@` host `:` port), then
 * path, query, fragment; `\` ends the authority as `/` does.
 */
export function placementOf(field: string, raw: string): Placement {
  if (field === 'model.name') return { kind: 'model' };
  const option = field.startsWith('model.options.') ? field.slice('model.options.'.length) : field;
  const kind = OPTION_PLACEMENTS[option];
  if (kind === undefined) return { kind: 'text' };
  if (option === 'upstream_path' && raw.startsWith('$(')) return { kind: 'path' };
  if (kind !== 'url-or-host') return { kind } as Placement;
  const m = EXPR.exec(raw);
  if (!m) return { kind: 'text' };
  // gemini.api_endpoint may be a bare host: the driver puts https:// in front.
  const prefixed = !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(raw) && option === 'gemini.api_endpoint';
  const skeleton = (prefixed ? 'https://' : '') + raw.slice(0, m.index) + MARK + raw.slice(m.index + m[0].length);
  return { kind: 'url', component: urlComponent(skeleton, skeleton.indexOf(MARK)), prefixed };
}

function urlComponent(s: string, at: number): UrlComponent {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(s);
  if (!scheme) return 'unparsable';
  const authStart = scheme[0].length;
  if (at < authStart) return 'scheme';
  let authEnd = s.slice(authStart).search(/[/\\?#]/);
  authEnd = authEnd < 0 ? s.length : authStart + authEnd;
  if (at >= authEnd) {
    const before = s.slice(authEnd, at);
    if (before.includes('#')) return 'fragment';
    if (before.includes('?')) return 'query';
    return 'path';
  }
  const authority = s.slice(authStart, authEnd);
  const rel = at - authStart;
  const lastAt = authority.lastIndexOf('@');
  if (rel < lastAt) return 'userinfo';
  // The mark ends the authority after a port (`http://host:1234$(headers.p)`): the value makes the whole start
  // of the path, and must be one, since any other text would become part of the authority.
  if (rel + MARK.length === authority.length && /(?::\d+|\])$/.test(authority.slice(lastAt + 1, rel))) return 'path-start';
  const hostPort = authority.slice(lastAt + 1);
  const hostRel = rel - (lastAt + 1);
  if (hostPort.startsWith('[')) return 'port';
  const colon = hostPort.indexOf(':');
  if (colon >= 0 && hostRel > colon) return 'port';
  return 'host';
}

const DNS_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
/** RFC 3986 pchar minus `@` (refused): what may stand in a path segment unencoded. */
const NOT_PCHAR = /[^A-Za-z0-9\-._~!$&'()*+,;=:]/g;

function encodeSegment(v: string): string {
  return v.replace(NOT_PCHAR, (c) => encodeURIComponent(c));
}

function refuse(template: string, field: string, why: string): never {
  throw new InvalidRequestError(`template '${template}' in ${field}: ${why}`);
}

function segmentValue(v: string, template: string, field: string): string {
  if (/[/\\?#@]/.test(v) || v.includes('..') || v === '.') {
    refuse(template, field, "the value may not contain '/', '\\', '?', '#', '@' or '..'");
  }
  return encodeSegment(v);
}

/** The value as it may be placed, or a refusal naming the template. */
function placeValue(p: Placement, v: string, template: string, field: string): string {
  if (v.length > MAX_VALUE_LENGTH) refuse(template, field, `the value is longer than ${MAX_VALUE_LENGTH} characters`);
  if (!PRINTABLE_ASCII.test(v)) refuse(template, field, 'the value may only contain printable ASCII characters');
  switch (p.kind) {
    case 'text':
      return v;
    case 'model':
      {
        const problem = modelNameProblem(v);
        if (problem !== undefined) refuse(template, field, problem);
      }
      return v;
    case 'host-label':
      if (!DNS_LABEL.test(v)) refuse(template, field, 'the value must be a DNS label (letters, digits and inner hyphens, at most 63)');
      return v;
    case 'path-segment':
      return segmentValue(v, template, field);
    case 'path':
      return v.split('/').map((segment) => segmentValue(segment, template, field)).join('/');
    case 'url':
      switch (p.component) {
        case 'host':
          if (!DNS_LABEL.test(v)) refuse(template, field, 'a value in the host must be a DNS label (letters, digits and inner hyphens, at most 63)');
          return v;
        case 'path':
          return segmentValue(v, template, field);
        case 'path-start': {
          if (v === '') return v;
          if (!v.startsWith('/')) refuse(template, field, "the value must be a path starting with '/'");
          return '/' + v.slice(1).split('/').map((s) => segmentValue(s, template, field)).join('/');
        }
        case 'query':
        case 'fragment':
          return encodeURIComponent(v);
        default:
          return refuse(template, field, `a template may not set the URL's ${p.component === 'unparsable' ? 'scheme or host (the URL has no scheme://)' : p.component}`);
      }
  }
}

/** Scheme, user info, host and port of an absolute URL; undefined when it does not parse. */
function originParts(url: string): { protocol: string; username: string; password: string; hostLabels: number; port: string } | undefined {
  try {
    const u = new URL(url);
    return { protocol: u.protocol, username: u.username, password: u.password, hostLabels: u.hostname.split('.').length, port: u.port };
  } catch {
    return undefined;
  }
}

/**
 * Second line of defence for URL options: the resolved URL has the scheme, user info, port and number of host
 * labels of the configured one (with a harmless value in place of the template).
 */
function checkSameOrigin(p: Placement & { kind: 'url' }, raw: string, m: RegExpExecArray, resolved: string, template: string, field: string): void {
  const prefix = p.prefixed ? 'https://' : '';
  const neutral = p.component === 'path-start' ? '' : 'a';
  const expected = originParts(prefix + raw.slice(0, m.index) + neutral + raw.slice(m.index + m[0].length));
  const actual = originParts(prefix + resolved);
  if (expected === undefined) return; // the URL was broken before templating: the driver names it
  if (
    actual === undefined ||
    actual.protocol !== expected.protocol ||
    actual.username !== expected.username ||
    actual.password !== expected.password ||
    actual.port !== expected.port ||
    actual.hostLabels !== expected.hostLabels
  ) {
    refuse(template, field, 'the value would change where the request goes');
  }
}

function resolveString(v: string, sources: TemplateSources, field: string): string {
  const m = EXPR.exec(v);
  if (!m) return v;
  const parts = (m[1] ?? '').split('.');
  if (parts.length !== 2) throw new InvalidRequestError(`cannot parse expression for field '${v}'`);
  const [source, key] = parts as [string, string];
  let evaluated: string | undefined;
  if (source === 'headers') evaluated = sources.header(key);
  else if (source === 'query_params') evaluated = sources.queryArg(key);
  else if (source === 'uri_captures') evaluated = sources.uriCapture(key);
  else throw new InvalidRequestError(`source '${source}' is not supported`);
  if (evaluated === undefined) throw new InvalidRequestError(`${source} key ${key} was not provided`);
  const p = placementOf(field, v);
  const placed = placeValue(p, String(evaluated), m[0], field);
  const resolved = v.slice(0, m.index) + placed + v.slice(m.index + m[0].length);
  if (p.kind === 'url') checkSameOrigin(p, v, m, resolved, m[0], field);
  return resolved;
}

/**
 * `v` with its templates resolved; a part without templates is returned as is, not copied: a templated
 * `model.name` leaves the config's `model.options` object in place, which is what the URL builder remembers
 * its URLs by (providers/translator-kit/url.ts).
 */
function resolveValue(v: unknown, sources: TemplateSources, field: string): unknown {
  if (typeof v === 'string') return resolveString(v, sources, field);
  if (Array.isArray(v)) {
    const out = v.map((x, i) => resolveValue(x, sources, `${field}[${i}]`));
    return out.every((x, i) => x === v[i]) ? v : out;
  }
  if (v && typeof v === 'object') {
    const entries = Object.entries(v);
    const resolved = entries.map(([k, x]) => resolveValue(x, sources, `${field}.${k}`));
    if (resolved.every((x, i) => x === entries[i]![1])) return v;
    const out: Record<string, unknown> = {};
    entries.forEach(([k], i) => (out[k] = resolved[i]));
    return out;
  }
  return v;
}

/** A new model block with templates resolved; the config object is never mutated. */
/** A templated `model.name` with this request's values (acls.ts: the model a target would run); throws as the engine would. */
export function resolveNameTemplate(name: string, sources: TemplateSources): string {
  return resolveString(name, sources, 'model.name');
}

export function resolveModelTemplates(model: ModelConfig, sources: TemplateSources): ModelConfig {
  return withOwn(model, {
    name: model.name == null ? model.name : resolveString(model.name, sources, 'model.name'),
    options: model.options == null ? model.options : (resolveValue(model.options, sources, 'model.options') as ModelConfig['options']),
  });
}

/**
 * Templates that no request value could make safe (in a URL's scheme, user info or port): found once per
 * config, so an operator learns at config time rather than from every request's 400. `field` is the path from
 * the target (`['model', 'options', 'upstream_url']`).
 */
export function misplacedTemplates(model: ModelConfig | null | undefined): Array<{ field: Array<string | number>; message: string }> {
  const out: Array<{ field: Array<string | number>; message: string }> = [];
  const walk = (v: unknown, field: string, segments: Array<string | number>): void => {
    if (typeof v === 'string') {
      const p = placementOf(field, v);
      if (p.kind === 'url' && ['scheme', 'userinfo', 'port', 'unparsable'].includes(p.component)) {
        out.push({ field: segments, message: `a template may not set the URL's ${p.component === 'unparsable' ? 'scheme or host' : p.component}` });
      }
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${field}[${i}]`, [...segments, i]));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${field}.${k}`, [...segments, k]);
  };
  if (model?.options) walk(model.options, 'model.options', ['model', 'options']);
  return out;
}
