/**
 * Admin API form arguments decoded as Kong decodes them (kong/api/arguments.lua `decode` = decode + combine +
 * infer, kong/api/arguments_decoder.lua): for `application/x-www-form-urlencoded` and `multipart/form-data`
 * bodies only (JSON bodies keep their own types).
 *
 *   - keys are split on dots outside brackets, each part may carry brackets: `config.targets[1].model.provider`,
 *     `paths[1]`, `paths[]`, `headers[x-a][]` (a non-numeric bracket is a map key); positions are 1-based, as
 *     in Lua, and a bracket in the middle of a path without a number is position 1 (nest_path);
 *   - a key given twice collects its values into an array (ngx.req.get_post_args);
 *   - values stay text unless the entity's schema types the field (infer_value): `number`/`integer` parse,
 *     `boolean` takes `true`/`false`, an array or set field given one value becomes a one-element array, and
 *     the empty string is null. So `name=12345` is the string "12345", as in Kong.
 *
 * Every key is hostile: prototype keys and paths deeper than MAX_DEPTH are refused (400) before any object is
 * built, positions are bounded, and the arrays are built compact from the given positions (no sparse arrays).
 */
import { type FieldDef, type FieldList, isPlainObject } from '../schema/kong-schema';
import { BadRequest, checkShape, MAX_DEPTH } from './body';

const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Kong's max_post_args is 100 (the rest silently dropped); positions beyond this are certainly a mistake. */
export const MAX_POSITION = 10_000;

type Segment = { key: string } | { index: number } | { append: true };

/** A form value: text, or (multipart `application/json` parts) the parsed JSON value and the text it came from. */
export type FormValue = string | { json: unknown; text: string };

class ArrNode {
  readonly at = new Map<number, Node>();
  readonly appended: Node[] = [];
}
class ObjNode {
  readonly entries = new Map<string, Node>();
}
type Leaf = { leaf: unknown };
type Node = ArrNode | ObjNode | Leaf;

function fieldLabel(raw: string): string {
  return raw.length > 64 ? `${raw.slice(0, 64)}…` : raw;
}

/**
 * `a.b[1][x].c` → [a, b, 1, x, c]. A part whose brackets are not well formed is one literal key, as Kong's
 * decode_complex_arg falls back to `container[name] = value`. Leading or trailing dots keep the whole key flat.
 */
export function parseKey(raw: string): Segment[] {
  if (raw.startsWith('.') || raw.endsWith('.')) return [{ key: raw }];
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === '.' && depth === 0) {
      parts.push(raw.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(raw.slice(start));
  const out: Segment[] = [];
  for (const part of parts) {
    const m = /^([^[\]]+)((?:\[[^[\]]*\])+)$/.exec(part);
    if (!m) {
      out.push({ key: part });
      continue;
    }
    out.push({ key: m[1] as string });
    for (const b of (m[2] as string).matchAll(/\[([^[\]]*)\]/g)) {
      const inner = b[1] as string;
      if (inner === '') out.push({ append: true });
      else if (/^\d+$/.test(inner)) out.push({ index: Number(inner) });
      else out.push({ key: inner });
    }
  }
  if (out.length > MAX_DEPTH) throw new BadRequest(`form field '${fieldLabel(raw)}': nested deeper than ${MAX_DEPTH} levels`);
  for (const s of out) {
    if ('key' in s && FORBIDDEN_KEYS.has(s.key)) throw new BadRequest(`form field '${fieldLabel(raw)}': key '${s.key}' is not allowed`);
    if ('index' in s && (s.index < 1 || s.index > MAX_POSITION)) {
      throw new BadRequest(`form field '${fieldLabel(raw)}': position ${s.index} out of range (1-${MAX_POSITION})`);
    }
  }
  return out;
}

function leafOf(value: FormValue): Leaf {
  return { leaf: typeof value === 'string' ? value : value.json };
}

function conflict(raw: string): BadRequest {
  return new BadRequest(`form field '${fieldLabel(raw)}': mixes a value, a list and a record at the same place`);
}

function insert(root: ObjNode, raw: string, value: FormValue): void {
  const path = parseKey(raw);
  let cur: Node = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i] as Segment;
    const last = i === path.length - 1;
    const nextIsArray = !last && !('key' in (path[i + 1] as Segment));
    const fresh = (): Node => (nextIsArray ? new ArrNode() : new ObjNode());
    if ('key' in seg) {
      if (!(cur instanceof ObjNode)) throw conflict(raw);
      const existing: Node | undefined = cur.entries.get(seg.key);
      if (last) {
        if (existing === undefined) cur.entries.set(seg.key, leafOf(value));
        else if (existing instanceof ArrNode) existing.appended.push(leafOf(value));
        else if (existing instanceof ObjNode) throw conflict(raw);
        else {
          // The same key twice: its values become a list (ngx.req.get_post_args).
          const arr = new ArrNode();
          arr.appended.push(existing, leafOf(value));
          cur.entries.set(seg.key, arr);
        }
        return;
      }
      let next: Node | undefined = existing;
      if (next === undefined) {
        next = fresh();
        cur.entries.set(seg.key, next);
      }
      cur = next;
    } else {
      if (!(cur instanceof ArrNode)) throw conflict(raw);
      if ('append' in seg && last) {
        cur.appended.push(leafOf(value));
        return;
      }
      // nest_path: `[]` before further keys means position 1.
      const pos = 'index' in seg ? seg.index : 1;
      const existing: Node | undefined = cur.at.get(pos);
      if (last) {
        if (existing !== undefined) throw new BadRequest(`form field '${fieldLabel(raw)}': position ${pos} given twice`);
        cur.at.set(pos, leafOf(value));
        return;
      }
      let next: Node | undefined = existing;
      if (next === undefined) {
        next = fresh();
        cur.at.set(pos, next);
      }
      cur = next;
    }
  }
}

function materialise(node: Node): unknown {
  if (node instanceof ObjNode) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of node.entries) out[k] = materialise(v);
    return out;
  }
  if (node instanceof ArrNode) {
    const positions = [...node.at.keys()].sort((a, b) => a - b);
    return [...positions.map((p) => materialise(node.at.get(p) as Node)), ...node.appended.map(materialise)];
  }
  return node.leaf;
}

/** Form fields, in order, into nested params (values still text). */
export function decodeArgs(pairs: Iterable<[string, FormValue]>): Record<string, unknown> {
  const root = new ObjNode();
  for (const [k, v] of pairs) insert(root, k, v);
  const out = materialise(root) as Record<string, unknown>;
  // Multipart JSON parts bring their own objects: checked like any JSON body.
  checkShape(out);
  return out;
}

/** Lua's tonumber for the text Kong sees: decimal, exponent or hex, surrounding spaces allowed. */
function luaToNumber(v: string): number | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  if (/^[-+]?0x[0-9a-f]+$/i.test(t)) return Number.parseInt(t.replace(/^([-+]?)0x/i, '$1'), 16);
  if (!/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(t)) return undefined;
  return Number(t);
}

/** infer_value: one value typed by its field. */
export function inferValue(value: unknown, field: FieldDef | undefined): unknown {
  if (value === undefined || value === null || field === undefined) return value;
  if (value === '') return null;
  switch (field.type) {
    case 'number':
    case 'integer':
      return typeof value === 'string' ? (luaToNumber(value) ?? value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case 'array':
    case 'set': {
      const list = Array.isArray(value) ? value : [value];
      return list.map((v) => inferValue(v, field.elements));
    }
    case 'map': {
      if (!isPlainObject(value)) return value;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = inferValue(v, field.values);
      return out;
    }
    case 'record': {
      if (field.abstract === true || !isPlainObject(value)) return value;
      return inferRecord(value, [...(field.fields ?? []), ...((field.shorthand_fields as FieldList | undefined) ?? [])]);
    }
    default:
      return value;
  }
}

/** infer: the fields of `args` that `fields` knows are typed; unknown ones are left for the schema to refuse. */
export function inferRecord(args: Record<string, unknown>, fields: FieldList): Record<string, unknown> {
  const byName = new Map<string, FieldDef>();
  for (const entry of fields) for (const [name, def] of Object.entries(entry)) byName.set(name, def);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = byName.has(k) ? inferValue(v, byName.get(k)) : v;
  return out;
}
