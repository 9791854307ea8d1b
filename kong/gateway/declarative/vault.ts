/**
 * Kong's `{vault://env/<name>[/<key>]}` references (kong/pdk/vault.lua, kong/vaults/env/init.lua): the env
 * vault reads the environment variable named by upper-casing the resource and turning `-` into `_`
 * (`{vault://env/openai-api-key}` → OPENAI_API_KEY); with a `/<key>` the variable holds JSON and the key is
 * taken from it. Only the `env` vault exists here; other vault names fail resolution with a message saying so.
 *
 * Like Kong (kong/db/schema/init.lua resolve_reference), references are resolved only in fields the schema
 * marks `referenceable`, when a plugin's config is handed to the plugin, and an unresolvable reference becomes
 * "" with a warning instead of failing: the stored config keeps the reference text.
 */
import { fieldEntries, type FieldDef, type FieldList, isPlainObject, isReference } from '../schema/kong-schema';

export function resolveReference(ref: string, env: NodeJS.ProcessEnv): { value: string } | { error: string } {
  const m = /^\{vault:\/\/([^/]+)\/([^?#}]+?)(?:\?[^#}]*)?(?:#(\d+))?\}$/.exec(ref);
  if (!m) return { error: 'invalid reference format' };
  const [, vault = '', resourcePath = '', version] = m;
  if (vault !== 'env') return { error: `vault not found (${vault}): only the env vault is available in the local gateway` };
  const slash = resourcePath.indexOf('/');
  const resource = slash < 0 ? resourcePath : resourcePath.slice(0, slash);
  const key = slash < 0 ? undefined : resourcePath.slice(slash + 1);
  let name = resource.replace(/-/g, '_').toUpperCase();
  if (version === '2') name += '_PREVIOUS';
  const raw = env[name];
  if (raw === undefined) return { error: `environment variable ${name} is not set` };
  if (key === undefined || key === '') return { value: raw };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { error: `environment variable ${name} is not JSON, cannot read key '${key}'` };
  }
  const v = isPlainObject(parsed) ? parsed[key] : undefined;
  if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
    return { error: `key '${key}' not found in environment variable ${name}` };
  }
  return { value: String(v) };
}

function resolveString(v: unknown, env: NodeJS.ProcessEnv, warn: (m: string) => void): unknown {
  if (!isReference(v)) return v;
  const r = resolveReference(v, env);
  if ('value' in r) return r.value;
  warn(`unable to resolve reference ${v} (${r.error})`);
  return '';
}

function resolveField(field: FieldDef, v: unknown, env: NodeJS.ProcessEnv, warn: (m: string) => void): unknown {
  if (field.type === 'string' && field.referenceable === true) return resolveString(v, env, warn);
  if (field.type === 'record' && isPlainObject(v)) return resolveRecord(field.fields ?? [], v, env, warn);
  if ((field.type === 'array' || field.type === 'set') && Array.isArray(v) && field.elements) {
    const el = field.elements;
    return v.map((x) => resolveField(el, x, env, warn));
  }
  if (field.type === 'map' && isPlainObject(v) && field.values) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = resolveField(field.values, x, env, warn);
    return out;
  }
  return v;
}

/** A copy of `data` with the references in referenceable fields resolved. */
export function resolveRecord(
  fields: FieldList,
  data: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  warn: (m: string) => void,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...data };
  for (const [name, field] of fieldEntries(fields)) {
    if (name in out) out[name] = resolveField(field, out[name], env, warn);
  }
  return out;
}
