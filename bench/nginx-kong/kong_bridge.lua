-- Kong's side of the external-plugin protocol, inside nginx + ngx_lua (LuaJIT), for `npm run bench -- engine`'s
-- ngx-* paths and spec/bench/nginx-kong.test.ts. Written fresh from /work/shared/docs/kong-plugin-protocol.md
-- §2-§3 and from reading Kong OSS (Apache-2.0) master 22246ef: kong/runloop/plugin_servers/plugin.lua (instances,
-- exposed_api, the log timer), rpc/mp_rpc.lua (Rpc:call, must_fix, get_step_method, bridge_loop, handle_event),
-- rpc/util.lua (index_table), kong/init.lua execute_collecting_plugins_iterator / flush_delayed_response and the
-- PDK functions the bench's plugins call (kong/pdk/request.lua, response.lua, log.lua, client.lua).
--
-- It is a FLOOR for Kong's side: it does per request what Kong does on the path of one external plugin that
-- answers with kong.response.exit in access (a coroutine per plugin handler, get_instance_id, one pooled unix
-- connection per RPC, msgpack with fperrad's lua-MessagePack as Kong pins it, must_fix, the delayed response and
-- its flush; in log, kong.log.serialize() + ngx.ctx clone + saved headers + ngx.timer.at(0)), and leaves out what
-- Kong does besides, so the real Kong costs more than this, never less:
--   * the router (Kong matches the route in Lua on every request; here nginx's location picks the plugin),
--   * the plugins iterator (collecting per route/consumer, workspace, ctx.plugin_id bookkeeping),
--   * Kong.rewrite/access/header_filter/body_filter/log runloop work: KONG_* timing fields in ngx.ctx,
--     X-Kong-* / Via / Server headers, request id, balancer data, tracing/instrumentation spans, dynamic hooks,
--     worker_events polling in exit, the admin/cluster timers, kong.log namespacing (set_namespaced_log),
--   * PDK phase checks are kept (they are one ngx.ctx read), PDK argument validation is kept for the calls served.
local mp = require "MessagePack"
local cjson = require "cjson.safe"
local clone = require "table.clone"
local get_ctx_table = require("resty.core.ctx").get_ctx_table

local ngx = ngx
local type = type
local pairs = pairs
local ipairs = ipairs
local unpack = unpack
local find = string.find
local lower = string.lower
local coroutine = coroutine

-- mp_rpc.lua's codec setup: cjson.null packs as nil, a function packs itself (must_fix's empty map/array and bin).
do
  local nil_pack = mp.packers["nil"]
  mp.packers.userdata = function(buffer, u)
    if u == cjson.null then return nil_pack(buffer) end
    error "pack 'userdata' is unimplemented"
  end
  mp.packers["function"] = function(buffer, f) f(buffer) end
end
local mp_pack = mp.pack
local mp_unpacker = mp.unpacker

local M = {}

---------------------------------------------------------------------------------------------------------------
-- Phase checks (kong/pdk/private/phases.lua): the phase lives in ngx.ctx.KONG_PHASE, as in Kong.
local function phase_set(...)
  local s = {}
  for _, p in ipairs({ ... }) do s[p] = true end
  return s
end
local PH_REQUEST = phase_set("rewrite", "access", "balancer", "response", "header_filter", "body_filter", "log", "error", "admin_api")
local PH_BEFORE_CONTENT = phase_set("rewrite", "access", "response", "error", "admin_api")
local PH_REWRITE_ACCESS_HEADER = phase_set("rewrite", "access", "response", "balancer", "header_filter", "error", "admin_api")
local PH_HEADER_BODY_LOG = phase_set("response", "header_filter", "body_filter", "log", "error", "admin_api")
local PH_WITH_CTX = phase_set("rewrite", "access", "header_filter", "response", "body_filter", "log")
local PH_LOG = phase_set("log")

-- A header as get_header answers it: the first value when ngx gives a list (a repeated header).
local function first_value(v)
  if type(v) == "table" then return v[1] end
  return v
end

local function check_phase(allowed)
  local phase = ngx.ctx.KONG_PHASE
  if phase and allowed[phase] then return end
  local names = {}
  for p in pairs(allowed) do names[#names + 1] = p end
  table.sort(names)
  error("function cannot be called in " .. tostring(phase) .. " phase (only in: " .. table.concat(names, ", ") .. ")", 3)
end

---------------------------------------------------------------------------------------------------------------
-- The PDK functions the bench's plugins call, written fresh after kong/pdk/*.lua (same checks, same returns).
local pdk = { request = {}, client = {}, log = {}, response = {}, ctx = { shared = {} }, nginx = {}, router = {}, service = { request = {} } }

function pdk.request.get_headers(max)
  check_phase(PH_REQUEST)
  if max == nil then return ngx.req.get_headers() end
  if type(max) ~= "number" then error("max_headers must be a number", 2)
  elseif max < 1 then error("max_headers must be >= 1", 2)
  elseif max > 1000 then error("max_headers must be <= 1000", 2) end
  return ngx.req.get_headers(max)
end

function pdk.request.get_header(name)
  check_phase(PH_REQUEST)
  if type(name) ~= "string" then error("header name must be a string", 2) end
  return first_value(ngx.req.get_headers()[name])
end

-- 3.8+ get_raw_body(max_allowed_file_size): the in-memory body; a spooled body only when the limit allows it.
function pdk.request.get_raw_body(max)
  check_phase(PH_BEFORE_CONTENT)
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if body then return body end
  local file = ngx.req.get_body_file()
  if not file then return "" end
  if not max or max < 0 then
    return nil, "request body did not fit into client body buffer, consider raising 'client_body_buffer_size'"
  end
  local f, err = io.open(file, "r")
  if not f then return nil, "failed to open cached request body '" .. file .. "': " .. err end
  local size = f:seek("end") or 0
  if max > 0 and size > max then
    f:close()
    return nil, ("request body file too big: %d > %d"):format(size, max)
  end
  f:seek("set")
  local data = f:read("*a")
  f:close()
  return data
end

function pdk.request.get_path_with_query()
  check_phase(PH_REQUEST)
  return ngx.ctx.request_uri or ngx.var.request_uri or ""
end

function pdk.request.get_path()
  check_phase(PH_REQUEST)
  local uri = ngx.ctx.request_uri or ngx.var.request_uri or ""
  local s = find(uri, "?", 2, true)
  return s and uri:sub(1, s - 1) or uri
end

function pdk.request.get_method()
  check_phase(PH_REQUEST)
  return ngx.req.get_method()
end

function pdk.request.get_query(max)
  check_phase(PH_REQUEST)
  return ngx.req.get_uri_args(max or 100)
end

function pdk.request.get_start_time()
  check_phase(PH_REQUEST)
  return ngx.ctx.KONG_PROCESSING_START or ngx.req.start_time() * 1000
end

-- Kong reads ctx.router_matches.uri_captures; no router here, so the location's regex captures are not offered:
-- the result is Kong's answer for a route without captures.
function pdk.request.get_uri_captures(ctx)
  check_phase(PH_REQUEST)
  ctx = ctx or ngx.ctx
  local c = ctx.router_matches and ctx.router_matches.uri_captures
  local unnamed, named = {}, {}
  if c then
    for k, v in pairs(c) do
      if type(k) == "number" then unnamed[k + 1] = v else named[k] = v end
    end
  end
  return { unnamed = unnamed, named = named }
end

-- Kong's get_forwarded_ip is $remote_addr after the realip module (none configured here, as Kong's default).
function pdk.client.get_forwarded_ip()
  check_phase(PH_REQUEST)
  return ngx.var.remote_addr
end

function pdk.client.get_ip()
  check_phase(PH_REQUEST)
  return ngx.var.realip_remote_addr or ngx.var.remote_addr
end

function pdk.log.set_serialize_value(key, value, options)
  check_phase(PH_WITH_CTX)
  if type(key) ~= "string" then error("key must be a string", 2) end
  local mode = options and options.mode or "set"
  if mode ~= "set" and mode ~= "add" and mode ~= "replace" then error("mode must be 'set', 'add' or 'replace'", 2) end
  local ctx = ngx.ctx
  local list = ctx.serialize_values
  local item = { key = key, value = value, mode = mode }
  if list then list[#list + 1] = item else ctx.serialize_values = { item } end
end

-- Applies set_serialize_value items (kong/pdk/log.lua edit_result): dotted keys make sub-tables.
local function edit_result(root, items)
  for _, item in ipairs(items) do
    local key, mode, node, start = item.key, item.mode, root, 1
    local set_or_add = mode == "set" or mode == "add"
    for i = 2, #key do
      if key:byte(i) == 46 and key:byte(i - 1) ~= 92 then
        local sub = key:sub(start, i - 1):gsub("\\%.", ".")
        start = i + 1
        if node[sub] == nil then
          if set_or_add then node[sub] = {} else node = nil break end
        elseif type(node[sub]) ~= "table" then
          error("The key '" .. key .. "' could not be used as a serialize value. Subkey '" .. sub .. "' is not a table.")
        end
        node = node[sub]
      end
    end
    if type(node) == "table" then
      local last = key:sub(start):gsub("\\%.", ".")
      local old = node[last]
      if mode == "set" or (mode == "add" and old == nil) or (mode == "replace" and old ~= nil) then node[last] = item.value end
    end
  end
  return root
end

-- kong.log.serialize(): the table Kong builds in the log phase (kong/pdk/log.lua serialize, http subsystem),
-- with what this bridge knows (no route/service/consumer entities, no balancer tries).
function pdk.log.serialize()
  check_phase(PH_LOG)
  local ctx, var = ngx.ctx, ngx.var
  local request_uri = ctx.request_uri or var.request_uri or ""
  local req_headers = ngx.req.get_headers()
  if req_headers["authorization"] ~= nil then req_headers["authorization"] = "REDACTED" end
  if req_headers["proxy-authorization"] ~= nil then req_headers["proxy-authorization"] = "REDACTED" end
  local root = {
    request = {
      id = var.request_id or "",
      uri = request_uri,
      url = var.scheme .. "://" .. var.host .. ":" .. var.server_port .. request_uri,
      querystring = ngx.req.get_uri_args(100),
      method = ngx.req.get_method(),
      headers = req_headers,
      size = tonumber(var.request_length) or var.request_length,
    },
    upstream_uri = var.upstream_uri or "",
    upstream_status = var.upstream_status or "",
    response = { status = ngx.status, headers = ngx.resp.get_headers(), size = tonumber(var.bytes_sent) or var.bytes_sent },
    latencies = { kong = ctx.KONG_RESPONSE_LATENCY or 0, proxy = -1, request = tonumber(var.request_time) * 1000, receive = 0 },
    client_ip = var.remote_addr,
    started_at = ngx.req.start_time() * 1000,
    source = ctx.KONG_EXITED and "kong" or "upstream",
  }
  if ctx.serialize_values then root = edit_result(root, ctx.serialize_values) end
  return root
end

local function log_at(level)
  return function(...) ngx.log(level, ...) end
end
pdk.log.err, pdk.log.warn, pdk.log.notice, pdk.log.info, pdk.log.debug =
  log_at(ngx.ERR), log_at(ngx.WARN), log_at(ngx.NOTICE), log_at(ngx.INFO), log_at(ngx.DEBUG)

function pdk.response.get_status()
  check_phase(PH_HEADER_BODY_LOG)
  return ngx.status
end

function pdk.response.get_headers(max)
  check_phase(PH_HEADER_BODY_LOG)
  return ngx.resp.get_headers(max or 100)
end

function pdk.response.get_header(name)
  check_phase(PH_HEADER_BODY_LOG)
  return first_value(ngx.resp.get_headers()[name])
end

function pdk.response.get_source(ctx)
  ctx = ctx or ngx.ctx
  if ctx.KONG_UNEXPECTED then return "error" end
  if ctx.KONG_EXITED then return "exit" end
  return "service"
end

-- Kong's send (kong/pdk/response.lua): status, headers, JSON for a table body, Content-Length, print, exit.
local function send(status, body, headers)
  if ngx.headers_sent then error("headers have already been sent", 2) end
  ngx.status = status
  local has_ct, has_cl
  if headers ~= nil then
    for name, value in pairs(headers) do
      local ln = lower(name)
      if ln ~= "transfer-encoding" and ln ~= "transfer_encoding" then ngx.header[name] = value end
      if ln == "content-type" or ln == "content_type" then has_ct = true
      elseif ln == "content-length" or ln == "content_length" then has_cl = true end
    end
  end
  if type(body) == "table" then
    local json, err = cjson.encode(body)
    if err then error("body encoding failed while flushing response: " .. err, 2) end
    body = json
    if not has_ct then ngx.header["Content-Type"] = "application/json; charset=utf-8" end
  end
  if body ~= nil then
    if not has_cl then ngx.header["Content-Length"] = #body end
    ngx.print(body)
  elseif not has_cl then
    ngx.header["Content-Length"] = 0
  end
  return ngx.exit(status)
end

local function flush_delayed(ctx)
  local r = ctx.delayed_response
  return send(r.status_code, r.content, r.headers)
end

function pdk.response.exit(status, body, headers)
  check_phase(PH_REWRITE_ACCESS_HEADER)
  if ngx.headers_sent then error("headers have already been sent", 2) end
  if type(status) ~= "number" then error("code must be a number", 2)
  elseif status < 100 or status > 599 then error("code must be a number between 100 and 599", 2) end
  if body ~= nil and type(body) ~= "string" and type(body) ~= "table" then error("body must be a nil, string or table", 2) end
  if headers ~= nil and type(headers) ~= "table" then error("headers must be a nil or table", 2) end
  if headers ~= nil then
    for k, v in pairs(headers) do
      if type(k) ~= "string" then error("invalid header name \"" .. tostring(k) .. "\": got " .. type(k) .. ", expected string", 2) end
      local tv = type(v)
      if tv ~= "string" and tv ~= "number" and tv ~= "boolean" and tv ~= "table" then
        error("invalid header value for \"" .. k .. "\": got " .. tv .. ", expected array of string, string, number or boolean", 2)
      end
    end
  end
  local ctx = ngx.ctx
  ctx.KONG_EXITED = true
  -- In access Kong delays the response and yields out of the plugin's coroutine, never resuming it: no Step.
  if ctx.delay_response and not ctx.delayed_response then
    ctx.delayed_response = { status_code = status, content = body, headers = headers }
    coroutine.yield()
  else
    return send(status, body, headers)
  end
end

-- What the streaming path calls when it leaves the request to be proxied (ai-proxy-advanced's engine.ts:
-- get_service, set_target, set_scheme for a non-http service, set_path), after kong/pdk/router.lua,
-- kong/pdk/service.lua and kong/pdk/service/request.lua.
local PH_SERVICE_INFO = phase_set("access", "header_filter", "response", "body_filter", "log")
local PH_ACCESS_REWRITE_BALANCER = phase_set("rewrite", "access", "balancer")

-- The route's service entity, which the router put in ngx.ctx.service (here: the location's setup).
function pdk.router.get_service()
  check_phase(PH_SERVICE_INFO)
  return ngx.ctx.service
end

-- set_target: the balancer's host and port (resolved and connected to in balancer_by_lua), and upstream_host,
-- which Kong's access `after` then treats as preserve_host (kong/runloop/handler.lua): Host is `host`.
function pdk.service.set_target(host, port)
  check_phase(PH_ACCESS_REWRITE_BALANCER)
  if type(host) ~= "string" then error("host must be a string", 2) end
  if type(port) ~= "number" or math.floor(port) ~= port then error("port must be an integer", 2) end
  if port < 0 or port > 65535 then error("port must be an integer between 0 and 65535: given " .. port, 2) end
  ngx.var.upstream_host = host
  local bd = ngx.ctx.balancer_data
  bd.host = host
  bd.port = port
end

function pdk.service.request.set_scheme(scheme)
  check_phase(PH_ACCESS_REWRITE_BALANCER)
  if type(scheme) ~= "string" then error("scheme must be a string", 2) end
  if scheme ~= "http" and scheme ~= "https" then error("invalid scheme: " .. scheme, 2) end
  ngx.var.upstream_scheme = scheme
end

-- Kong escapes the path (kong/tools/uri.lua escape): bytes outside RFC 3986's unreserved and reserved sets
-- (and '%', kept as already escaped) become %XX.
local function escape_path(path)
  return (ngx.re.gsub(path, "[^A-Za-z0-9\\-._~!#$&'()*+,/:;=?@\\[\\]%]", function(m)
    return ("%%%02X"):format(m[0]:byte())
  end, "jo"))
end

function pdk.service.request.set_path(path)
  check_phase(PH_ACCESS_REWRITE_BALANCER)
  if type(path) ~= "string" then error("path must be a string", 2) end
  if path:byte(1) ~= 47 then error("path must start with /", 2) end
  ngx.var.upstream_uri = escape_path(path)
end

local function shared_ctx()
  local ctx = ngx.ctx
  local s = ctx.shared
  if not s then s = {}; ctx.shared = s end
  return s
end

---------------------------------------------------------------------------------------------------------------
-- exposed_api (plugin.lua): the special cases first, then any function under `kong.` by its \w+ segments.
local req_data = {}
local function get_saved_req_data() return req_data[coroutine.running()] end

local exposed_api = {
  kong = pdk,
  get_saved_req_data = get_saved_req_data,
  ["kong.log.serialize"] = function()
    local saved = get_saved_req_data()
    return cjson.encode(saved and saved.serialize_data or pdk.log.serialize())
  end,
  ["kong.nginx.get_var"] = function(v) return ngx.var[v] end,
  ["kong.nginx.get_ctx"] = function(k)
    local saved = get_saved_req_data()
    return (saved and saved.ngx_ctx or ngx.ctx)[k]
  end,
  ["kong.nginx.set_ctx"] = function(k, v)
    local saved = get_saved_req_data()
    ;(saved and saved.ngx_ctx or ngx.ctx)[k] = v
  end,
  ["kong.ctx.shared.get"] = function(k)
    local saved = get_saved_req_data()
    return (saved and saved.ctx_shared or shared_ctx())[k]
  end,
  ["kong.ctx.shared.set"] = function(k, v)
    local saved = get_saved_req_data()
    ;(saved and saved.ctx_shared or shared_ctx())[k] = v
  end,
  ["kong.request.get_headers"] = function(max)
    local saved = get_saved_req_data()
    return saved and saved.request_headers or pdk.request.get_headers(max)
  end,
  ["kong.request.get_header"] = function(name)
    local saved = get_saved_req_data()
    if not saved then return pdk.request.get_header(name) end
    return first_value(saved.request_headers[name])
  end,
  ["kong.request.get_uri_captures"] = function()
    local saved = get_saved_req_data()
    return pdk.request.get_uri_captures(saved and saved.ngx_ctx or ngx.ctx)
  end,
  ["kong.response.get_status"] = function()
    local saved = get_saved_req_data()
    return saved and saved.response_status or pdk.response.get_status()
  end,
  ["kong.response.get_headers"] = function(max)
    local saved = get_saved_req_data()
    return saved and saved.response_headers or pdk.response.get_headers(max)
  end,
  ["kong.response.get_header"] = function(name)
    local saved = get_saved_req_data()
    if not saved then return pdk.response.get_header(name) end
    return first_value(saved.response_headers and saved.response_headers[name])
  end,
  ["kong.response.get_source"] = function()
    local saved = get_saved_req_data()
    return pdk.response.get_source(saved and saved.ngx_ctx or nil)
  end,
  ["kong.nginx.req_start_time"] = function()
    local saved = get_saved_req_data()
    return saved and saved.req_start_time or ngx.req.start_time()
  end,
}

-- rpc/util.lua index_table, cached per method name as mp_rpc.lua's get_field.
local method_cache = {}
local function get_field(api, method)
  local f = method_cache[method]
  if f then return f end
  f = api[method]
  if not f then
    f = api
    for m in ngx.re.gmatch(method, "\\w+", "jo") do
      f = f[m[0]]
      if f == nil then break end
    end
  end
  method_cache[method] = f
  return f
end

local function mp_empty_array(buffer) mp.packers["array"](buffer, {}, 0) end
local function mp_empty_map(buffer) mp.packers["map"](buffer, {}, 0) end

local function fix_mmap(t)
  local o, empty = {}, true
  for k, v in pairs(t) do
    empty = false
    if v == true then o[k] = mp_empty_array
    elseif type(v) == "string" then o[k] = { v }
    else o[k] = v end
  end
  if empty then return mp_empty_map end
  return o
end

local function fix_raw(bin)
  return function(buffer) mp.packers["binary"](buffer, bin) end
end

local must_fix = {
  ["kong.request.get_query"] = fix_mmap,
  ["kong.request.get_headers"] = fix_mmap,
  ["kong.response.get_headers"] = fix_mmap,
  ["kong.service.response.get_headers"] = fix_mmap,
  ["kong.request.get_raw_body"] = fix_raw,
  ["kong.response.get_raw_body"] = fix_raw,
  ["kong.service.response.get_raw_body"] = fix_raw,
}

local step_by_method = {
  ["kong.client.get_credential"] = "plugin.StepCredential",
  ["kong.client.load_consumer"] = "plugin.StepConsumer",
  ["kong.client.get_consumer"] = "plugin.StepConsumer",
  ["kong.client.authenticate"] = "plugin.StepCredential",
  ["kong.node.get_memory_stats"] = "plugin.StepMemoryStats",
  ["kong.router.get_route"] = "plugin.StepRoute",
  ["kong.router.get_service"] = "plugin.StepService",
  ["kong.request.get_query"] = "plugin.StepMultiMap",
  ["kong.request.get_headers"] = "plugin.StepMultiMap",
  ["kong.response.get_headers"] = "plugin.StepMultiMap",
  ["kong.service.response.get_headers"] = "plugin.StepMultiMap",
}

-- Only the first return value is kept (so Kong never sends StepError); a Lua error unwinds the handler.
-- An unknown method is logged and answered with nil, as Kong does.
local function call_pdk_method(cmd, args)
  local method = get_field(exposed_api, cmd)
  if not method then
    ngx.log(ngx.ERR, "could not find pdk method: ", cmd)
    return
  end
  local ret
  if type(args) == "table" then ret = method(unpack(args)) else ret = method(args) end
  local fix = must_fix[cmd]
  if fix then ret = fix(ret) end
  return ret
end

local function step_method(step_in, res)
  return (type(res) == "table" and res._method) or step_by_method[step_in.Data.Method] or "plugin.Step"
end

---------------------------------------------------------------------------------------------------------------
-- Rpc:call: a connection per call (in practice a pooled keepalive one, lua_socket_pool_size), one request in
-- flight, the reply read with receiveany(4096) through the msgpack unpacker, then setkeepalive. Timeouts are
-- ngx_lua's defaults (60 s), as Kong's templates set none.
local Rpc = {}
Rpc.__index = Rpc

function Rpc:call(method, ...)
  self.msg_id = self.msg_id + 1
  local msg_id = self.msg_id
  local c, err = ngx.socket.connect(self.socket)
  if not c then
    ngx.log(ngx.ERR, "trying to connect: ", err)
    return nil, err
  end
  local bytes, serr = c:send(mp_pack({ 0, msg_id, method, { ... } }))
  if not bytes then
    c:setkeepalive()
    return nil, serr
  end
  local reader = mp_unpacker(function() return c:receiveany(4096) end)
  while true do
    local ok, data = reader()
    if not ok then
      c:setkeepalive()
      return nil, "no data"
    end
    if data[1] ~= 2 then -- [2, label, args] notifications: none is acted on here (serverPid only in Kong)
      assert(data[1] == 1, "RPC response expected from plugin server")
      assert(data[2] == msg_id, "unexpected RPC response ID from plugin server")
      c:setkeepalive()
      if data[3] ~= nil then return nil, data[3] end
      return data[4]
    end
  end
end

---------------------------------------------------------------------------------------------------------------
-- Instances (plugin.lua get_instance_id), per worker, keyed by the plugin entity id.
local running_instances = {}

local function get_instance_id(p)
  local key = p.plugin_id
  local info = running_instances[key]
  local waits = 0
  while info and not info.id do
    ngx.sleep(0.1)
    waits = waits + 1
    if waits > 100 then
      running_instances[key] = nil
      return nil, "Could not claim instance_id for " .. p.name .. " (key: " .. key .. ")"
    end
    info = running_instances[key]
  end
  if info and info.id and info.seq == p.seq and info.plugin_id == key then return info.id end
  local old_id = info and info.id
  if not info then
    info = { seq = p.seq }
    running_instances[key] = info
  else
    info.id = nil
  end
  local st, err = p.rpc:call("plugin.StartInstance", { Name = p.name, Config = p.config_json })
  if st == nil then
    ngx.log(ngx.ERR, "starting instance: ", err)
    running_instances[key] = nil
    error(err)
  end
  info.id, info.seq, info.plugin_id, info.plugin_name = st.Id, p.seq, key, p.name
  if old_id then p.rpc:call("plugin.CloseInstance", old_id) end
  return info.id
end

local function reset_instances(name)
  for k, info in pairs(running_instances) do
    if info.plugin_name == name then running_instances[k] = nil end
  end
end

local function bridge_loop(p, id, phase)
  local step_in, err = p.rpc:call("plugin.HandleEvent", { InstanceId = id, EventName = phase })
  if not step_in then return nil, err end
  local event_id = step_in.EventId
  while step_in.Data ~= "ret" do
    local res = call_pdk_method(step_in.Data.Method, step_in.Data.Args)
    step_in, err = p.rpc:call(step_method(step_in, res), { EventId = event_id, Data = res })
    if not step_in then return nil, err end
  end
  return true
end

-- handle_event: "no plugin instance" resets the instances and retries the phase; any other error is logged and
-- the request goes on without the plugin (mp_rpc fails open).
local function handle_event(p, phase)
  local id, err = get_instance_id(p)
  if not err then
    local _
    _, err = bridge_loop(p, id, phase)
  end
  if err then
    if find(lower(err), "no plugin instance", 1, true) then
      reset_instances(p.name)
      ngx.log(ngx.WARN, err)
      return handle_event(p, phase)
    end
    ngx.log(ngx.ERR, err)
  end
end

---------------------------------------------------------------------------------------------------------------
local plugins = {}

-- setup: { plugins = { [location key] = { name, plugin_id, seq, config_json, socket, phases = {...} } } }
function M.init(setup)
  for key, def in pairs(setup.plugins) do
    local p = {
      name = def.name, plugin_id = def.plugin_id, seq = def.seq, config_json = def.config_json, phases = {},
      service = def.service, route_path = def.route_path, strip_path = def.strip_path,
    }
    for _, ph in ipairs(def.phases) do p.phases[ph] = true end
    -- One Rpc per plugin (3.9+), msg ids counted per worker from 1.
    p.rpc = setmetatable({ msg_id = 0, socket = "unix:" .. def.socket }, Rpc)
    plugins[key] = p
  end
end

local function access_handler(p) handle_event(p, "access") end

-- What Kong's router and balancer setup leave before the plugins run (kong/runloop/handler.lua access
-- before/after): the route's service in ctx.service, the balancer data at the service's host and port,
-- upstream_scheme the service's protocol, upstream_uri the service path joined with the request path
-- (stripped of the route's prefix with strip_path), upstream_connection keep-alive.
local function route_matched(p, ctx)
  local svc = p.service
  ctx.service = svc
  ctx.balancer_data = { host = svc.host, port = svc.port, scheme = svc.protocol, try_count = 0, retries = 5 }
  local var = ngx.var
  var.upstream_scheme = svc.protocol
  local uri = var.uri
  if p.strip_path and p.route_path ~= "/" then
    uri = uri:sub(#p.route_path + 1)
    if uri:byte(1) ~= 47 then uri = "/" .. uri end
  end
  local base = svc.path or "/"
  if base ~= "/" then
    uri = (base:byte(-1) == 47 and base:sub(1, -2) or base) .. uri
  end
  var.upstream_uri = uri
  var.upstream_connection = "keep-alive"
end

-- Kong's access `after` (kong/runloop/handler.lua): the query string joins the upstream uri; a Host set by
-- set_target (preserve_host) is kept, otherwise Host is the service's host and port (set_host_header).
local function access_after(ctx)
  local var = ngx.var
  if var.is_args == "?" then var.upstream_uri = var.upstream_uri .. "?" .. (var.args or "") end
  if var.upstream_host == "" then
    local bd = ctx.balancer_data
    local default = (bd.scheme == "https" and 443) or 80
    var.upstream_host = bd.port == default and bd.host or (bd.host .. ":" .. bd.port)
  end
end

-- access_by_lua: Kong's collecting iterator for one plugin: a coroutine per handler, delay_response set, a Lua
-- error turned into the delayed 500, then flush_delayed_response when the plugin exited.
function M.access(key)
  local p = plugins[key]
  local ctx = ngx.ctx
  ctx.KONG_PHASE = "access"
  route_matched(p, ctx)
  if not p.phases.access then return access_after(ctx) end
  ctx.delay_response = true
  local co = coroutine.create(access_handler)
  local ok, err = coroutine.resume(co, p)
  if not ok then
    ngx.log(ngx.ERR, err)
    ctx.delayed_response = { status_code = 500, content = { message = "An unexpected error occurred" } }
    ctx.KONG_UNEXPECTED = true
  end
  ctx.delay_response = nil
  if ctx.delayed_response then return flush_delayed(ctx) end
  access_after(ctx)
end

-- balancer_by_lua (Kong.balancer, kong/init.lua): the peer from the balancer data, the service's timeouts
-- (Kong's defaults, 60 s each), the retries. Kong resolves a hostname in access (balancer.execute); the
-- bench's targets are IP addresses, so none is resolved here and a name is refused.
local ngx_balancer = require "ngx.balancer"
function M.balancer()
  local ctx = ngx.ctx
  ctx.KONG_PHASE = "balancer"
  local bd = ctx.balancer_data
  bd.try_count = bd.try_count + 1
  if bd.try_count == 1 and bd.retries > 0 then ngx_balancer.set_more_tries(bd.retries) end
  local ok, err = ngx_balancer.set_current_peer(bd.host, bd.port)
  if not ok then
    ngx.log(ngx.ERR, "failed to set the current peer (address: ", tostring(bd.host), " port: ", tostring(bd.port), "): ", err)
    return ngx.exit(500)
  end
  ok, err = ngx_balancer.set_timeouts(60, 60, 60)
  if not ok then ngx.log(ngx.ERR, "could not set upstream timeouts: ", err) end
end

local function log_timer(premature, p, saved)
  if premature then return end
  get_ctx_table(saved.ngx_ctx)
  local co = coroutine.running()
  req_data[co] = saved
  handle_event(p, "log")
  req_data[co] = nil
end

-- log_by_lua: Kong saves the request data (serialize, ctx clone, headers, status, start time) and runs the
-- external plugin's log event in a zero-delay timer, after the client has its response.
function M.log(key)
  local p = plugins[key]
  if not p.phases.log then return end
  local ctx = ngx.ctx
  ctx.KONG_PHASE = "log"
  local ok, err = ngx.timer.at(0, log_timer, p, {
    plugin_name = p.name,
    serialize_data = pdk.log.serialize(),
    ngx_ctx = clone(ctx),
    ctx_shared = shared_ctx(),
    request_headers = ngx.req.get_headers(),
    response_headers = ngx.resp.get_headers(),
    response_status = ngx.status,
    req_start_time = ngx.req.start_time(),
  })
  if not ok then ngx.log(ngx.ERR, "failed to create the log timer: ", err) end
end

return M
