/**
 * Kong's config schemas for the log plugins the local gateway runs itself, in Kong's field-list format so the
 * Admin API, decK files and GET /schemas/plugins/{name} treat them as Kong does:
 * kong/plugins/file-log/schema.lua, kong/plugins/http-log/schema.lua, kong/plugins/prometheus/schema.lua and
 * the queue record of kong/tools/queue_schema.lua (Kong 3.9). `custom_fields_by_lua` is accepted (Kong's schema
 * has it) but the gateway cannot run Lua: a config that sets it is refused by the plugin's validator.
 */
import type { FieldList } from '../schema/kong-schema';

const PROTOCOLS = {
  protocols: {
    type: 'set',
    required: true,
    default: ['grpc', 'grpcs', 'http', 'https'],
    elements: { type: 'string', one_of: ['grpc', 'grpcs', 'http', 'https', 'tcp', 'tls', 'tls_passthrough', 'udp', 'ws', 'wss'] },
  },
};

const LUA_CODE = { custom_fields_by_lua: { type: 'map', keys: { type: 'string', len_min: 1 }, values: { type: 'string', len_min: 1 } } };

export const QUEUE_FIELDS: FieldList = [
  { max_batch_size: { type: 'integer', default: 1, between: [1, 1000000] } },
  { max_coalescing_delay: { type: 'number', default: 1, between: [0, 3600] } },
  { max_entries: { type: 'integer', default: 10000, between: [1, 1000000] } },
  { max_bytes: { type: 'integer' } },
  { max_retry_time: { type: 'number', default: 60 } },
  { initial_retry_delay: { type: 'number', default: 0.01, between: [0.001, 1000000] } },
  { max_retry_delay: { type: 'number', default: 60, between: [0.001, 1000000] } },
  { concurrency_limit: { type: 'integer', default: 1, one_of: [-1, 1] } },
];

export const FILE_LOG_FIELDS: FieldList = [
  {
    path: {
      type: 'string',
      required: true,
      // Kong: [[^[^%s*&%%\`][^*&%%\`]*[^%s*&%%\`]$]] (Lua pattern)
      match: '^[^%s*&%%\\`][^*&%%\\`]*[^%s*&%%\\`]$',
      err: 'not a valid filename',
    },
  },
  { reopen: { type: 'boolean', required: true, default: false } },
  LUA_CODE,
];

export const HTTP_LOG_FIELDS: FieldList = [
  { http_endpoint: { type: 'string', required: true, referenceable: true } },
  { method: { type: 'string', default: 'POST', one_of: ['POST', 'PUT', 'PATCH'] } },
  { content_type: { type: 'string', default: 'application/json', one_of: ['application/json', 'application/json; charset=utf-8'] } },
  { timeout: { type: 'number', default: 10000 } },
  { keepalive: { type: 'number', default: 60000 } },
  { retry_count: { type: 'integer' } },
  { queue_size: { type: 'integer' } },
  { flush_timeout: { type: 'number' } },
  {
    headers: {
      type: 'map',
      keys: {
        type: 'string',
        match_none: [
          { pattern: '^[Hh][Oo][Ss][Tt]$', err: "cannot contain 'Host' header" },
          { pattern: '^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Ll][Ee][nn][Gg][Tt][Hh]$', err: "cannot contain 'Content-Length' header" },
          { pattern: '^[Cc][Oo][Nn][Tt][Ee][Nn][Tt]%-[Tt][Yy][Pp][Ee]$', err: "cannot contain 'Content-Type' header" },
        ],
      },
      values: { type: 'string', referenceable: true },
    },
  },
  { queue: { type: 'record', required: true, fields: QUEUE_FIELDS } },
  LUA_CODE,
];

export const PROMETHEUS_FIELDS: FieldList = [
  { per_consumer: { type: 'boolean', default: false } },
  { status_code_metrics: { type: 'boolean', default: false } },
  { ai_metrics: { type: 'boolean', default: false } },
  { latency_metrics: { type: 'boolean', default: false } },
  { bandwidth_metrics: { type: 'boolean', default: false } },
  { upstream_health_metrics: { type: 'boolean', default: false } },
  { wasm_metrics: { type: 'boolean', default: false } },
];

/** The full Schema table for GET /schemas/plugins/{name}. */
export function pluginSchema(name: string, fields: FieldList): Record<string, unknown> {
  return { name, fields: [PROTOCOLS, { config: { type: 'record', required: true, fields } }] };
}
