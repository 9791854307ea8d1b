/**
 * schemas/schema.lua (for Konnect upload) is generated from the definition and committed: it must be up to
 * date, and, where a Lua interpreter exists, load as Lua, carry the same fields as the Kong array, and its
 * Lua functions (custom checks, shorthands) must behave like the TypeScript ones.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { toLua } from '../../schemas/lua';
import { KONG_SCHEMA_FIELDS } from '../../schemas/kong-schema';
import { REPO_ROOT } from '../helpers/schema-fixtures';

const SCHEMA_LUA = path.join(REPO_ROOT, 'schemas', 'schema.lua');
const DUMP = path.join(REPO_ROOT, 'spec', 'helpers', 'schema-lua-dump.lua');

function findLua(): string | undefined {
  for (const bin of ['lua5.1', 'luajit', 'lua']) {
    if (spawnSync(bin, ['-v'], { encoding: 'utf8' }).status === 0) return bin;
  }
  return undefined;
}
const LUA = findLua();
const NO_LUA = LUA ? false : 'no Lua interpreter (lua5.1, luajit or lua) on this machine';

test('schemas/schema.lua is up to date with the definition (regenerate: npm run build && node dist/schemas/gen-lua.js)', () => {
  assert.equal(readFileSync(SCHEMA_LUA, 'utf8'), toLua());
});

type Obj = Record<string, unknown>;

/** path -> the declarative facts of each field, from a Kong-style fields array. */
function flatten(fields: unknown, prefix: string, out: Map<string, Obj>): Map<string, Obj> {
  for (const entry of fields as Obj[]) {
    const [name, f] = Object.entries(entry)[0] as [string, Obj];
    const p = `${prefix}${name}`;
    const facts: Obj = {};
    for (const k of ['type', 'required', 'default', 'one_of', 'between', 'gt', 'len_min', 'referenceable', 'encrypted', 'description']) {
      if (f[k] !== undefined) facts[k] = f[k];
    }
    out.set(p, facts);
    let el = f;
    let elPath = p;
    while (el.type === 'array') {
      el = el.elements as Obj;
      elPath += '[]';
      const ef: Obj = {};
      for (const k of ['type', 'one_of', 'len_min']) if (el[k] !== undefined) ef[k] = el[k];
      out.set(elPath, ef);
    }
    if (el.type === 'record') flatten(el.fields, `${elPath}.`, out);
  }
  return out;
}

function dump(): { schema: Obj; probes: Record<string, unknown> } {
  const r = spawnSync(LUA as string, [DUMP, SCHEMA_LUA], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { schema: Obj; probes: Record<string, unknown> };
}

test('schema.lua loads as Lua and declares the same fields as the Kong schema array', { skip: NO_LUA }, () => {
  const { schema } = dump();
  assert.equal(schema.name, 'ai-proxy-advanced');
  const config = (schema.fields as Obj[]).find((f) => 'config' in f)?.config as Obj;
  const fromLua = flatten(config.fields, '', new Map());
  const fromKong = flatten(KONG_SCHEMA_FIELDS, '', new Map());
  assert.deepEqual([...fromLua.keys()].sort(), [...fromKong.keys()].sort());
  for (const [p, facts] of fromKong) assert.deepEqual(fromLua.get(p), facts, p);
});

test('schema.lua custom checks and shorthands behave like the TypeScript ones', { skip: NO_LUA }, () => {
  const { probes } = dump();
  assert.deepEqual(probes, {
    statistics_anthropic_completions: { ok: false, err: 'anthropic does not support statistics when route_type is llm/v1/completions' },
    statistics_anthropic_chat: { ok: true, err: null },
    statistics_null_logging: { ok: true, err: null },
    semantic_missing: { ok: false, err: 'description field is required for every target in config.targets array' },
    semantic_complete: { ok: true, err: null },
    round_robin_without_descriptions: { ok: true, err: null },
    native_wrong_provider: { ok: false, err: "native llm_format 'gemini' can only be used with the 'gemini' model.provider" },
    native_wrong_route_type: { ok: false, err: "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type" },
    native_anthropic_any_provider: { ok: true, err: null },
    native_own_provider: { ok: true, err: null },
    openai_format: { ok: true, err: null },
    timeout: { connect_timeout: 250, read_timeout: 250, send_timeout: 250 },
    sentinel_addresses: { sentinel_nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 6379 }] },
    cluster_addresses: { cluster_nodes: [{ ip: '10.0.0.1', port: 7000 }] },
    url_ok: { ok: true, err: null },
    url_no_host: { ok: false, err: 'missing host in url' },
  });
});

test("the Kong array's Lua URL pattern accepts and refuses the URLs Kong's url check does", { skip: NO_LUA }, () => {
  const child = (fields: unknown, name: string) => (fields as Obj[]).find((f) => name in f)?.[name] as Obj;
  const target = child(KONG_SCHEMA_FIELDS, 'targets').elements as Obj;
  const options = child(child(target.fields, 'model').fields, 'options');
  const patterns = (child(options.fields, 'upstream_url').match_any as { patterns: string[] }).patterns;
  const urls = { 'http://llm:8080/v1/chat': true, 'https://api.example.com': true, 'localhost:8080/v1': false, '/v1/chat': false, 'http://': false };
  const script = `local patterns = { ${patterns.map((p) => JSON.stringify(p)).join(', ')} }
for _, u in ipairs({ ${Object.keys(urls).map((u) => JSON.stringify(u)).join(', ')} }) do
  local ok = false
  for _, p in ipairs(patterns) do if u:match(p) then ok = true end end
  print(u .. "=" .. tostring(ok))
end`;
  const r = spawnSync(LUA as string, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), Object.entries(urls).map(([u, ok]) => `${u}=${ok}`));
});
