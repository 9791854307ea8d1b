-- Loads schemas/schema.lua outside Kong (stubbing ngx.null and kong.db.schema.typedefs), prints it as JSON,
-- and runs its Lua functions (custom entity checks, shorthand translations) on a few probes.
-- Usage: lua5.1 schema-lua-dump.lua path/to/schema.lua
local NULL = setmetatable({}, { __tostring = function() return "null" end })
ngx = { null = NULL }

local url_validator = function(url)
  if not url:match("^[%a][%w+.-]*://[^/?#]") and not url:match("^//[^/?#]") then return nil, "missing host in url" end
  if not url:match("^[%a][%w+.-]*:") then return nil, "missing scheme in url" end
  return true
end
package.preload["kong.db.schema.typedefs"] = function()
  return { url = { type = "string", custom_validator = url_validator }, protocols_http = { type = "set", stub = "protocols_http" } }
end

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  for i = 1, n do if t[i] == nil then return false end end
  return n > 0
end

local function encode(v)
  local t = type(v)
  if v == NULL then return "null" end
  if t == "string" then
    return '"' .. v:gsub('[%c"\\]', function(c)
      local map = { ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
      return map[c] or string.format("\\u%04x", c:byte())
    end) .. '"'
  end
  if t == "number" or t == "boolean" then return tostring(v) end
  if t == "function" then return '"<function>"' end
  if t == "table" then
    local parts = {}
    if is_array(v) then
      for i = 1, #v do parts[i] = encode(v[i]) end
      return "[" .. table.concat(parts, ",") .. "]"
    end
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = tostring(k) end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = encode(k) .. ":" .. encode(v[k]) end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return "null"
end

local schema = dofile(arg[1])

-- find helpers
local function field(fields, name)
  for _, f in ipairs(fields) do if f[name] then return f[name] end end
end
local config = field(schema.fields, "config")
local targets = field(config.fields, "targets").elements
local redis = field(field(config.fields, "vectordb").fields, "redis")
local function custom(record, n)
  local seen = 0
  for _, c in ipairs(record.entity_checks) do
    if c.custom_entity_check then
      seen = seen + 1
      if seen == (n or 1) then return c.custom_entity_check.fn end
    end
  end
end
local function result(ok, err) return { ok = ok == true, err = err or NULL } end
local function shorthand(name)
  for _, s in ipairs(redis.shorthand_fields) do if s[name] then return s[name].func end end
end
local upstream_url = field(field(field(targets.fields, "model").fields, "options").fields, "upstream_url")

local probes = {
  statistics_anthropic_completions = result(custom(targets)({ route_type = "llm/v1/completions",
    model = { provider = "anthropic" }, logging = { log_statistics = true } })),
  statistics_anthropic_chat = result(custom(targets)({ route_type = "llm/v1/chat",
    model = { provider = "anthropic" }, logging = { log_statistics = true } })),
  statistics_null_logging = result(custom(targets)({ route_type = "llm/v1/completions",
    model = { provider = "anthropic" }, logging = NULL })),
  semantic_missing = result(custom(config)({ balancer = { algorithm = "semantic" },
    targets = { { description = "a" }, { description = NULL } } })),
  semantic_complete = result(custom(config)({ balancer = { algorithm = "semantic" }, targets = { { description = "a" } } })),
  round_robin_without_descriptions = result(custom(config)({ balancer = { algorithm = "round-robin" }, targets = { {} } })),
  native_wrong_provider = result(custom(config, 2)({ llm_format = "gemini",
    targets = { { route_type = "llm/v1/chat", model = { provider = "gemini" } }, { route_type = "llm/v1/chat", model = { provider = "openai" } } } })),
  native_wrong_route_type = result(custom(config, 2)({ llm_format = "bedrock",
    targets = { { route_type = "llm/v1/embeddings", model = { provider = "bedrock" } } } })),
  native_anthropic_any_provider = result(custom(config, 2)({ llm_format = "anthropic",
    targets = { { route_type = "llm/v1/chat", model = { provider = "openai" } } } })),
  native_own_provider = result(custom(config, 2)({ llm_format = "cohere",
    targets = { { route_type = "llm/v1/chat", model = { provider = "cohere" } } } })),
  openai_format = result(custom(config, 2)({ llm_format = "openai",
    targets = { { route_type = "llm/v1/embeddings", model = { provider = "gemini" } } } })),
  timeout = shorthand("timeout")(250),
  sentinel_addresses = shorthand("sentinel_addresses")({ "s1:26379", "s2" }),
  cluster_addresses = shorthand("cluster_addresses")({ "10.0.0.1:7000" }),
  url_ok = result(upstream_url.custom_validator("http://h:1/x")),
  url_no_host = result(upstream_url.custom_validator("localhost:8080")),
}

print(encode({ schema = schema, probes = probes }))
