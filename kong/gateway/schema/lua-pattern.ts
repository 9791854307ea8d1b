/**
 * Lua patterns → JavaScript RegExp, for the `match`, `not_match`, `match_all`, `match_none` and `match_any`
 * schema validators, which Kong runs with Lua's `string.match` (kong/db/schema/init.lua Schema.validators).
 * Covers the pattern language Kong schemas use: character classes (%a %d %l %s %u %w %x %p %c), their
 * negations, escapes (%. %% …), sets, anchors and the four quantifiers (* + - ?). `%b` and `%f` are rare in
 * schemas and are rejected with a clear error rather than mistranslated.
 */
const CLASSES: Readonly<Record<string, string>> = Object.freeze({
  a: 'A-Za-z',
  d: '0-9',
  l: 'a-z',
  s: ' \\t\\n\\r\\f\\v',
  u: 'A-Z',
  w: 'A-Za-z0-9',
  x: '0-9A-Fa-f',
  p: '!-\\/:-@\\[-`{-~',
  c: '\\x00-\\x1f\\x7f',
});

const cache = new Map<string, RegExp>();

function escapeChar(c: string): string {
  return /[\\^$.*+?()[\]{}|\/-]/.test(c) ? `\\${c}` : c;
}

function classFor(letter: string, inSet: boolean): string {
  const lower = letter.toLowerCase();
  const body = CLASSES[lower];
  if (body === undefined) return escapeChar(letter);
  const negated = letter !== lower;
  if (inSet) {
    if (negated) throw new Error(`Lua pattern: negated class %${letter} inside a set is not supported`);
    return body;
  }
  return negated ? `[^${body}]` : `[${body}]`;
}

export function luaPatternToRegExp(pattern: string): RegExp {
  const hit = cache.get(pattern);
  if (hit) return hit;
  let out = '';
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i] as string;
    if (c === '%') {
      const n = pattern[i + 1];
      if (n === undefined) throw new Error(`Lua pattern '${pattern}' ends with '%'`);
      if (n === 'b' || n === 'f') throw new Error(`Lua pattern item %${n} is not supported`);
      out += classFor(n, false);
      i += 2;
    } else if (c === '[') {
      let j = i + 1;
      let set = '[';
      if (pattern[j] === '^') {
        set += '^';
        j++;
      }
      let first = true;
      while (j < pattern.length && (pattern[j] !== ']' || first)) {
        const s = pattern[j] as string;
        if (s === '%') {
          const n = pattern[j + 1] ?? '';
          set += classFor(n, true);
          j += 2;
        } else if (s === '-' && !first && pattern[j + 1] !== ']') {
          set += '-';
          j++;
        } else {
          set += s === '\\' || s === ']' || s === '[' || s === '^' ? `\\${s}` : s;
          j++;
        }
        first = false;
      }
      if (pattern[j] !== ']') throw new Error(`Lua pattern '${pattern}' has an unclosed set`);
      out += `${set}]`;
      i = j + 1;
    } else if (c === '-') {
      out += '*?'; // Lua's lazy repetition
      i++;
    } else if (c === '^' && i === 0) {
      out += '^';
      i++;
    } else if (c === '$' && i === pattern.length - 1) {
      out += '$';
      i++;
    } else if (c === '.' || c === '*' || c === '+' || c === '?') {
      out += c;
      i++;
    } else if (c === '(' || c === ')') {
      out += c;
      i++;
    } else {
      out += escapeChar(c);
      i++;
    }
  }
  const re = new RegExp(out, 's');
  cache.set(pattern, re);
  return re;
}

export function luaMatch(value: string, pattern: string): boolean {
  return luaPatternToRegExp(pattern).test(value);
}
