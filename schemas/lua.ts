/**
 * schema.lua for Konnect custom-plugin upload (and for Kong users who want Kong's own validation on a control
 * plane), derived from the definition. Unlike the Kong array a JS plugin hands Kong, Lua can carry everything:
 * typedefs.url, the custom entity checks and the 3.8/3.9 redis shorthands.
 *
 * The file is committed as schemas/schema.lua; spec/schemas/lua.test.ts fails when it differs from what this
 * module generates. Regenerate with: npm run build && node dist/schemas/gen-lua.js
 */
import type { EntityCheck, Field, RecordField, Shorthand } from './dsl';
import { PLUGIN_CONFIG } from './definition';
import { recordDefaults } from './defaults';
import { FORMAT_GAPS, REALTIME_REFUSAL, SERVED_ROUTE_TYPES } from './definition/route-support';
import { CONSUMER_GROUP_KEYS, CONSUMER_KEYS } from './acl-conditions';
import { PROVIDERS } from './definition/enums';

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
// prettier-ignore
const LUA_KEYWORDS = new Set(['and', 'break', 'do', 'else', 'elseif', 'end', 'false', 'for', 'function', 'goto', 'if',
  'in', 'local', 'nil', 'not', 'or', 'repeat', 'return', 'then', 'true', 'until', 'while']);

export function luaString(s: string): string {
  return (
    '"' +
    s
      .replace(/\\/g, '\\\\')
      .replace(/"/g, '\\"')
      .replace(/\n/g, '\\n')
      .replace(/\r/g, '\\r') +
    '"'
  );
}

function key(k: string): string {
  return IDENT.test(k) && !LUA_KEYWORDS.has(k) ? k : `[${luaString(k)}]`;
}

function luaValue(v: unknown, ind: string): string {
  if (v === null) return 'ngx.null';
  if (typeof v === 'string') return luaString(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `{ ${v.map((x) => luaValue(x, ind)).join(', ')} }`;
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length === 0) return '{}';
  const inner = ind + '  ';
  return `{\n${entries.map(([k, x]) => `${inner}${key(k)} = ${luaValue(x, inner)},`).join('\n')}\n${ind}}`;
}

const SHORTHAND_FUNCS: Record<Shorthand['translate'], string> = {
  all_timeouts: 'function(value) return { connect_timeout = value, send_timeout = value, read_timeout = value } end',
  sentinel_nodes: 'function(value) return { sentinel_nodes = addresses_to_nodes(value, "host") } end',
  cluster_nodes: 'function(value) return { cluster_nodes = addresses_to_nodes(value, "ip") } end',
};

const CUSTOM_CHECKS: Record<string, string> = {
  statistics_unsupported: `{ custom_entity_check = {
        field_sources = { "route_type", "model", "logging" },
        fn = check_statistics_supported,
      } }`,
  semantic_needs_descriptions: `{ custom_entity_check = {
        field_sources = { "balancer", "targets" },
        fn = check_semantic_descriptions,
      } }`,
  native_format_targets: `{ custom_entity_check = {
        field_sources = { "llm_format", "targets" },
        fn = check_native_format_targets,
      } }`,
  route_type_served: `{ custom_entity_check = {
        field_sources = { "llm_format", "targets" },
        fn = check_route_types_served,
      } }`,
  acl_condition: `{ custom_entity_check = {
        field_sources = { "type", "key", "values" },
        fn = check_acl_condition,
      } }`,
};

/** definition/route-support.ts as Lua: the same table and texts as the TypeScript check. */
function routeSupportLua(): string {
  const rows = Object.entries(SERVED_ROUTE_TYPES).map(
    ([provider, types]) => `  [${luaString(provider)}] = { ${types.map((t) => `[${luaString(t)}] = true`).join(', ')} },`,
  );
  const lists = Object.entries(SERVED_ROUTE_TYPES).map(([provider, types]) => `  [${luaString(provider)}] = ${luaString(types.join(', '))},`);
  const gaps = FORMAT_GAPS.map(
    (g) => `  { provider = ${luaString(g.provider)}, option = ${luaString(g.option)}, value = ${luaString(g.value)}, route_types = { ${g.routeTypes.map((t) => `[${luaString(t)}] = true`).join(', ')} } },`,
  );
  return `
local FORMAT_GAPS = {
${gaps.join('\n')}
}

local SERVED_ROUTE_TYPES = {
${rows.join('\n')}
}

local SERVED_ROUTE_TYPES_TEXT = {
${lists.join('\n')}
}

local function check_route_types_served(config)
  if not present(config.targets) then
    return true
  end
  local native = present(config.llm_format) and config.llm_format ~= "openai"
  for i, target in ipairs(config.targets) do
    local provider = present(target.model) and target.model.provider or nil
    if target.route_type == "realtime/v1/realtime" then
      return nil, fmt("targets[%d].route_type: %s", i - 1, ${luaString(REALTIME_REFUSAL)})
    end
    local served = provider and SERVED_ROUTE_TYPES[provider]
    if not native and served and not served[target.route_type] then
      return nil, fmt("targets[%d].route_type: route_type '%s' is not served for provider '%s' by this version of ai-proxy-advanced (served: %s)",
                      i - 1, target.route_type, provider, SERVED_ROUTE_TYPES_TEXT[provider])
    end
    local options = present(target.model) and present(target.model.options) and target.model.options or nil
    for _, gap in ipairs(FORMAT_GAPS) do
      if not native and options and gap.provider == provider and options[gap.option] == gap.value and gap.route_types[target.route_type] then
        return nil, fmt("targets[%d].route_type: route_type '%s' is not served for provider '%s' with %s '%s'",
                        i - 1, target.route_type, provider, gap.option, gap.value)
      end
    end
  end
  return true
end
`;
}

const luaSet = (names: readonly string[]): string => `{ ${names.map((n) => `[${luaString(n)}] = true`).join(', ')} }`;

function entityChecks(checks: readonly EntityCheck[], ind: string): string {
  const inner = ind + '  ';
  const items = checks.map((c) =>
    'custom' in c ? `${inner}${CUSTOM_CHECKS[c.custom]},` : `${inner}${luaValue(c, inner)},`,
  );
  return `{\n${items.join('\n')}\n${ind}}`;
}

function luaField(field: Field, ind: string): string {
  const inner = ind + '  ';
  const lines: string[] = [];
  const add = (k: string, v: string) => lines.push(`${inner}${k} = ${v},`);
  if (field.type === 'json') {
    // A free-form object: Kong's `json` type with an inline JSON schema.
    add('type', '"json"');
    add('json_schema', '{ inline = { type = "object" } }');
  } else {
    add('type', luaString(field.type));
  }
  if (field.required) add('required', 'true');
  if ('default' in field && field.default !== undefined) add('default', luaValue(field.default, inner));
  switch (field.type) {
    case 'string':
      if (field.one_of) add('one_of', luaValue(field.one_of, inner));
      if (field.len_min !== undefined) add('len_min', String(field.len_min));
      if (field.url) add('custom_validator', 'validate_url');
      if (field.referenceable) add('referenceable', 'true');
      if (field.encrypted) add('encrypted', 'true');
      break;
    case 'integer':
    case 'number':
      if (field.between) add('between', luaValue(field.between, inner));
      if (field.gt !== undefined) add('gt', String(field.gt));
      if (field.referenceable) add('referenceable', 'true');
      break;
    case 'array':
      add('elements', luaField(field.elements, inner));
      if (field.len_min !== undefined) add('len_min', String(field.len_min));
      break;
    case 'record':
      if (field.autofill) add('default', luaValue(recordDefaults(field), inner));
      add('fields', luaFields(field, inner));
      if (field.entity_checks) add('entity_checks', entityChecks(field.entity_checks, inner));
      if (field.shorthand_fields) {
        const sh = Object.entries(field.shorthand_fields).map(([name, s]) => {
          const elements = s.type === 'array' ? ', elements = { type = "string" }, len_min = 1' : '';
          return `${inner}  { ${key(name)} = { type = ${luaString(s.type)}${elements}, description = ${luaString(
            s.description,
          )}, func = ${SHORTHAND_FUNCS[s.translate]} } },`;
        });
        add('shorthand_fields', `{\n${sh.join('\n')}\n${inner}}`);
      }
      break;
    case 'boolean':
    case 'json':
      break;
  }
  if (field.description) add('description', luaString(field.description));
  if (field.deprecation) add('deprecation', luaValue(field.deprecation, inner));
  return `{\n${lines.join('\n')}\n${ind}}`;
}

function luaFields(def: RecordField, ind: string): string {
  const inner = ind + '  ';
  const items = Object.entries(def.fields).map(([name, f]) => `${inner}{ ${key(name)} = ${luaField(f, inner)} },`);
  return `{\n${items.join('\n')}\n${ind}}`;
}

const PRELUDE = `-- GENERATED from schemas/definition/ by schemas/lua.ts: do not edit.
-- Regenerate with: npm run build && node dist/schemas/gen-lua.js
--
-- Kong schema of the ai-proxy-advanced JavaScript plugin, for Konnect custom-plugin upload. Field
-- descriptions are Kong's (developer.konghq.com, MIT).
local typedefs = require "kong.db.schema.typedefs"

local fmt = string.format
local null = ngx.null

local validate_url = typedefs.url.custom_validator

local function present(v)
  return v ~= nil and v ~= null
end

-- "host:port" strings (3.8/3.9 sentinel_addresses / cluster_addresses) to node records.
local function addresses_to_nodes(addresses, host_key)
  local nodes = {}
  for i = 1, #addresses do
    local host, port = addresses[i]:match("^(.+):(%d+)$")
    nodes[i] = { [host_key] = host or addresses[i], port = port and tonumber(port) or 6379 }
  end
  return nodes
end

local UNSUPPORTED_LOG_STATISTICS = {
  ["llm/v1/completions"] = { ["anthropic"] = true },
}

local function check_statistics_supported(target)
  local logging, model = target.logging, target.model
  if present(logging) and logging.log_statistics == true and present(model)
    and UNSUPPORTED_LOG_STATISTICS[target.route_type]
    and UNSUPPORTED_LOG_STATISTICS[target.route_type][model.provider] then
    return nil, fmt("%s does not support statistics when route_type is %s", model.provider, target.route_type)
  end
  return true
end

local function check_native_format_targets(config)
  local format = config.llm_format
  if not present(format) or format == "openai" or not present(config.targets) then
    return true
  end
  for _, target in ipairs(config.targets) do
    if present(target.route_type) and target.route_type ~= "llm/v1/chat" then
      return nil, "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type"
    end
    local model = target.model
    if format ~= "anthropic" and present(model) and present(model.provider) and model.provider ~= format then
      return nil, fmt("native llm_format '%s' can only be used with the '%s' model.provider", format, format)
    end
  end
  return true
end

local function check_semantic_descriptions(config)
  local balancer = config.balancer
  if present(balancer) and balancer.algorithm == "semantic" and present(config.targets) then
    for _, target in ipairs(config.targets) do
      if not present(target.description) or target.description == "" then
        return nil, "description field is required for every target in config.targets array"
      end
    end
  end
  return true
end

-- acls (3.14): the keys and values schemas/acl-conditions.ts accepts.
local ACL_KEYS = {
  consumer = ${luaSet(CONSUMER_KEYS)},
  consumer_group = ${luaSet(CONSUMER_GROUP_KEYS)},
}
local ACL_PROVIDERS = ${luaSet(PROVIDERS)}

local function check_acl_condition(condition)
  local t, k, values = condition.type, condition.key, condition.values
  if ACL_KEYS[t] and present(k) and not ACL_KEYS[t][k] then
    return nil, fmt("%s: unknown key '%s'", t, tostring(k))
  end
  if t == "header" and (not present(k) or not k:match("^[%w!#$%%&'*+%-.^_\`|~]+$")) then
    return nil, "a header condition needs the header name as its key"
  end
  if not present(values) then
    return true
  end
  for _, v in ipairs(values) do
    if t == "ip" and not require("kong.tools.ip").is_valid_ip_or_cidr(v) then
      return nil, fmt("invalid ip address or cidr range: '%s'", v)
    elseif t == "path" and v:sub(1, 1) ~= "/" then
      return nil, fmt("a path must start with '/': '%s'", v)
    elseif t == "provider" and not ACL_PROVIDERS[v] then
      return nil, fmt("unknown provider: '%s'", v)
    end
  end
  return true
end
`;

export function toLua(def: RecordField = PLUGIN_CONFIG, name = 'ai-proxy-advanced'): string {
  return `${PRELUDE}${routeSupportLua()}
return {
  name = ${luaString(name)},
  fields = {
    { protocols = typedefs.protocols_http },
    { config = ${luaField(def, '    ')} },
  },
}
`;
}
