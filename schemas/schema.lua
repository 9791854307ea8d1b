-- GENERATED from schemas/definition/ by schemas/lua.ts: do not edit.
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
  consumer = { ["id"] = true, ["username"] = true, ["custom_id"] = true },
  consumer_group = { ["id"] = true, ["name"] = true },
}
local ACL_PROVIDERS = { ["openai"] = true, ["azure"] = true, ["anthropic"] = true, ["cohere"] = true, ["mistral"] = true, ["llama2"] = true, ["gemini"] = true, ["bedrock"] = true, ["huggingface"] = true, ["cerebras"] = true, ["dashscope"] = true, ["xai"] = true, ["databricks"] = true, ["deepseek"] = true, ["ollama"] = true, ["vllm"] = true }

local function check_acl_condition(condition)
  local t, k, values = condition.type, condition.key, condition.values
  if ACL_KEYS[t] and present(k) and not ACL_KEYS[t][k] then
    return nil, fmt("%s: unknown key '%s'", t, tostring(k))
  end
  if t == "header" and (not present(k) or not k:match("^[%w!#$%%&'*+%-.^_`|~]+$")) then
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

local FORMAT_GAPS = {
  { provider = "llama2", option = "llama2_format", value = "raw", route_types = { ["llm/v1/embeddings"] = true } },
  { provider = "mistral", option = "mistral_format", value = "ollama", route_types = { ["llm/v1/embeddings"] = true } },
}

local SERVED_ROUTE_TYPES = {
  ["openai"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true, ["preserve"] = true, ["llm/v1/files"] = true, ["llm/v1/batches"] = true, ["llm/v1/assistants"] = true, ["llm/v1/responses"] = true, ["audio/v1/audio/speech"] = true, ["audio/v1/audio/transcriptions"] = true, ["audio/v1/audio/translations"] = true, ["image/v1/images/generations"] = true, ["image/v1/images/edits"] = true, ["video/v1/videos/generations"] = true },
  ["azure"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true, ["preserve"] = true, ["llm/v1/files"] = true, ["llm/v1/batches"] = true, ["llm/v1/assistants"] = true, ["llm/v1/responses"] = true, ["audio/v1/audio/speech"] = true, ["audio/v1/audio/transcriptions"] = true, ["audio/v1/audio/translations"] = true, ["image/v1/images/generations"] = true, ["image/v1/images/edits"] = true, ["video/v1/videos/generations"] = true },
  ["xai"] = { ["llm/v1/chat"] = true, ["preserve"] = true, ["llm/v1/responses"] = true, ["image/v1/images/generations"] = true },
  ["vllm"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true, ["preserve"] = true },
  ["deepseek"] = { ["llm/v1/chat"] = true, ["preserve"] = true },
  ["cerebras"] = { ["llm/v1/chat"] = true, ["preserve"] = true },
  ["databricks"] = { ["llm/v1/chat"] = true, ["preserve"] = true },
  ["dashscope"] = { ["llm/v1/chat"] = true, ["llm/v1/embeddings"] = true, ["preserve"] = true },
  ["anthropic"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true },
  ["gemini"] = { ["llm/v1/chat"] = true, ["llm/v1/embeddings"] = true },
  ["bedrock"] = { ["llm/v1/chat"] = true, ["llm/v1/embeddings"] = true },
  ["cohere"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true },
  ["huggingface"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true },
  ["ollama"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true },
  ["llama2"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true },
  ["mistral"] = { ["llm/v1/chat"] = true, ["llm/v1/completions"] = true, ["llm/v1/embeddings"] = true },
}

local SERVED_ROUTE_TYPES_TEXT = {
  ["openai"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings, preserve, llm/v1/files, llm/v1/batches, llm/v1/assistants, llm/v1/responses, audio/v1/audio/speech, audio/v1/audio/transcriptions, audio/v1/audio/translations, image/v1/images/generations, image/v1/images/edits, video/v1/videos/generations",
  ["azure"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings, preserve, llm/v1/files, llm/v1/batches, llm/v1/assistants, llm/v1/responses, audio/v1/audio/speech, audio/v1/audio/transcriptions, audio/v1/audio/translations, image/v1/images/generations, image/v1/images/edits, video/v1/videos/generations",
  ["xai"] = "llm/v1/chat, preserve, llm/v1/responses, image/v1/images/generations",
  ["vllm"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings, preserve",
  ["deepseek"] = "llm/v1/chat, preserve",
  ["cerebras"] = "llm/v1/chat, preserve",
  ["databricks"] = "llm/v1/chat, preserve",
  ["dashscope"] = "llm/v1/chat, llm/v1/embeddings, preserve",
  ["anthropic"] = "llm/v1/chat, llm/v1/completions",
  ["gemini"] = "llm/v1/chat, llm/v1/embeddings",
  ["bedrock"] = "llm/v1/chat, llm/v1/embeddings",
  ["cohere"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings",
  ["huggingface"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings",
  ["ollama"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings",
  ["llama2"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings",
  ["mistral"] = "llm/v1/chat, llm/v1/completions, llm/v1/embeddings",
}

local function check_route_types_served(config)
  if not present(config.targets) then
    return true
  end
  local native = present(config.llm_format) and config.llm_format ~= "openai"
  for i, target in ipairs(config.targets) do
    local provider = present(target.model) and target.model.provider or nil
    if target.route_type == "realtime/v1/realtime" then
      return nil, fmt("targets[%d].route_type: %s", i - 1, "route_type 'realtime/v1/realtime' is a WebSocket upgrade, which Kong does not hand to external plugin servers: this plugin cannot serve it (use Kong Enterprise ai-proxy-advanced for realtime)")
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

return {
  name = "ai-proxy-advanced",
  fields = {
    { protocols = typedefs.protocols_http },
    { config = {
      type = "record",
      fields = {
        { acls = {
          type = "record",
          fields = {
            { allow = {
              type = "array",
              elements = {
                type = "record",
                fields = {
                  { match = {
                    type = "array",
                    required = true,
                    elements = {
                      type = "record",
                      fields = {
                        { key = {
                          type = "string",
                          description = "Helper key used by some types: consumer (id|username), consumer_group (id|name), header (header name).",
                        } },
                        { type = {
                          type = "string",
                          required = true,
                          one_of = { "consumer", "consumer_group", "header", "ip", "model", "path", "provider" },
                          description = "The attribute to match against.",
                        } },
                        { values = {
                          type = "array",
                          required = true,
                          elements = {
                            type = "string",
                          },
                          len_min = 1,
                          description = "Allowed values for the selected type.",
                        } },
                      },
                      entity_checks = {
                        { custom_entity_check = {
        field_sources = { "type", "key", "values" },
        fn = check_acl_condition,
      } },
                      },
                      description = "Single match condition (e.g. user or model value).",
                    },
                    len_min = 1,
                    description = "All conditions must match for the rule to apply (logical AND).",
                  } },
                },
                description = "ACL rule composed of one or more match conditions.",
              },
              len_min = 1,
              description = "Requests matching any allow rule are permitted unless also matched by a deny rule.",
            } },
            { deny = {
              type = "array",
              elements = {
                type = "record",
                fields = {
                  { match = {
                    type = "array",
                    required = true,
                    elements = {
                      type = "record",
                      fields = {
                        { key = {
                          type = "string",
                          description = "Helper key used by some types: consumer (id|username), consumer_group (id|name), header (header name).",
                        } },
                        { type = {
                          type = "string",
                          required = true,
                          one_of = { "consumer", "consumer_group", "header", "ip", "model", "path", "provider" },
                          description = "The attribute to match against.",
                        } },
                        { values = {
                          type = "array",
                          required = true,
                          elements = {
                            type = "string",
                          },
                          len_min = 1,
                          description = "Allowed values for the selected type.",
                        } },
                      },
                      entity_checks = {
                        { custom_entity_check = {
        field_sources = { "type", "key", "values" },
        fn = check_acl_condition,
      } },
                      },
                      description = "Single match condition (e.g. user or model value).",
                    },
                    len_min = 1,
                    description = "All conditions must match for the rule to apply (logical AND).",
                  } },
                },
                description = "ACL rule composed of one or more match conditions.",
              },
              len_min = 1,
              description = "Requests matching any deny rule are blocked. Deny rules take precedence over allow rules.",
            } },
          },
          description = "Optional ACL rules. Deny rules take precedence over allow rules.",
        } },
        { balancer = {
          type = "record",
          default = {
            algorithm = "round-robin",
            connect_timeout = 60000,
            fail_timeout = 10000,
            failover_criteria = { "error", "timeout" },
            hash_on_header = "X-Kong-LLM-Request-ID",
            latency_strategy = "tpot",
            max_fails = 0,
            read_timeout = 60000,
            retries = 5,
            slots = 10000,
            tokens_count_strategy = "total-tokens",
            write_timeout = 60000,
          },
          fields = {
            { algorithm = {
              type = "string",
              default = "round-robin",
              one_of = { "round-robin", "consistent-hashing", "lowest-latency", "lowest-usage", "least-connections", "priority", "semantic" },
              description = "Which load balancing algorithm to use.",
            } },
            { connect_timeout = {
              type = "integer",
              default = 60000,
              between = { 1, 2147483646 },
            } },
            { fail_timeout = {
              type = "integer",
              default = 10000,
              between = { 1, 2147483646 },
              description = "The period of time (in milliseconds) the target will be considered unavailable after the number of unsuccessful attempts reaches `max_fails`.",
            } },
            { failover_criteria = {
              type = "array",
              default = { "error", "timeout" },
              elements = {
                type = "string",
                one_of = { "error", "timeout", "invalid_header", "http_500", "http_502", "http_503", "http_504", "http_403", "http_404", "http_429", "non_idempotent" },
              },
              description = "Specifies in which cases an upstream response should be failover to the next target. Each option in the array is equivalent to the function of http://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream",
            } },
            { hash_on_header = {
              type = "string",
              default = "X-Kong-LLM-Request-ID",
              description = "The header to use for consistent-hashing.",
            } },
            { latency_strategy = {
              type = "string",
              default = "tpot",
              one_of = { "tpot", "e2e" },
              description = "What metrics to use for latency. Available values are: `tpot` (time-per-output-token) and `e2e`.",
            } },
            { max_fails = {
              type = "integer",
              default = 0,
              between = { 0, 32767 },
              description = "Number of unsuccessful attempts to communicate with a target that should occur in the duration defined by `fail_timeout` before the target is considered unavailable. The zero value disables the circuit breaker. What is considered an unsuccessful attempt is defined by `failover_criteria`. Note the cases of `error`, `timeout` and `invalid_header` are always considered unsuccessful attempts, while the cases of `http_403` and `http_404` are never considered unsuccessful attempts.",
            } },
            { read_timeout = {
              type = "integer",
              default = 60000,
              between = { 1, 2147483646 },
            } },
            { retries = {
              type = "integer",
              default = 5,
              between = { 0, 32767 },
              description = "The number of retries to execute upon failure to proxy.",
            } },
            { slots = {
              type = "integer",
              default = 10000,
              between = { 10, 65536 },
              description = "The number of slots in the load balancer algorithm.",
            } },
            { tokens_count_strategy = {
              type = "string",
              default = "total-tokens",
              one_of = { "total-tokens", "prompt-tokens", "completion-tokens", "cost", "llm-accuracy" },
              description = "What tokens to use for usage calculation. Available values are: `total_tokens` `prompt_tokens`, `completion_tokens` and `cost`.",
            } },
            { write_timeout = {
              type = "integer",
              default = 60000,
              between = { 1, 2147483646 },
            } },
          },
        } },
        { embeddings = {
          type = "record",
          fields = {
            { auth = {
              type = "record",
              fields = {
                { allow_override = {
                  type = "boolean",
                  default = false,
                  description = "If enabled, the authorization header or parameter can be overridden in the request by the value configured in the plugin.",
                } },
                { aws_access_key_id = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_ACCESS_KEY_ID environment variable for this plugin instance.",
                } },
                { aws_secret_access_key = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_SECRET_ACCESS_KEY environment variable for this plugin instance.",
                } },
                { azure_client_id = {
                  type = "string",
                  referenceable = true,
                  description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client ID.",
                } },
                { azure_client_secret = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client secret.",
                } },
                { azure_tenant_id = {
                  type = "string",
                  referenceable = true,
                  description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the tenant ID.",
                } },
                { azure_use_managed_identity = {
                  type = "boolean",
                  default = false,
                  description = "Set true to use the Azure Cloud Managed Identity (or user-assigned identity) to authenticate with Azure-provider models.",
                } },
                { gcp_metadata_url = {
                  type = "string",
                  referenceable = true,
                  description = "Custom metadata URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google metadata endpoint.",
                } },
                { gcp_oauth_token_url = {
                  type = "string",
                  referenceable = true,
                  description = "Custom OAuth token URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google OAuth token endpoint.",
                } },
                { gcp_service_account_json = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Set this field to the full JSON of the GCP service account to authenticate, if required. If null (and gcp_use_service_account is true), Kong will attempt to read from environment variable `GCP_SERVICE_ACCOUNT`.",
                } },
                { gcp_use_service_account = {
                  type = "boolean",
                  default = false,
                  description = "Use service account auth for GCP-based providers and models.",
                } },
                { header_name = {
                  type = "string",
                  referenceable = true,
                  description = "If AI model requires authentication via Authorization or API key header, specify its name here.",
                } },
                { header_value = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Specify the full auth header value for 'header_name', for example 'Bearer key' or just 'key'.",
                } },
                { param_location = {
                  type = "string",
                  one_of = { "body", "query" },
                  description = "Specify whether the 'param_name' and 'param_value' options go in a query string, or the POST form/JSON body.",
                } },
                { param_name = {
                  type = "string",
                  referenceable = true,
                  description = "If AI model requires authentication via query parameter, specify its name here.",
                } },
                { param_value = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Specify the full parameter value for 'param_name'.",
                } },
              },
            } },
            { model = {
              type = "record",
              required = true,
              fields = {
                { name = {
                  type = "string",
                  required = true,
                  description = "Model name to execute.",
                } },
                { options = {
                  type = "record",
                  fields = {
                    { azure = {
                      type = "record",
                      fields = {
                        { api_version = {
                          type = "string",
                          default = "2023-05-15",
                          description = "'api-version' for Azure OpenAI instances.",
                        } },
                        { deployment_id = {
                          type = "string",
                          description = "Deployment ID for Azure OpenAI instances.",
                        } },
                        { instance = {
                          type = "string",
                          description = "Instance name for Azure OpenAI hosted models.",
                        } },
                      },
                    } },
                    { bedrock = {
                      type = "record",
                      fields = {
                        { aws_assume_role_arn = {
                          type = "string",
                          description = "If using AWS providers (Bedrock) you can assume a different role after authentication with the current IAM context is successful.",
                        } },
                        { aws_region = {
                          type = "string",
                          description = "If using AWS providers (Bedrock) you can override the `AWS_REGION` environment variable by setting this option.",
                        } },
                        { aws_role_session_name = {
                          type = "string",
                          description = "If using AWS providers (Bedrock), set the identifier of the assumed role session.",
                        } },
                        { aws_sts_endpoint_url = {
                          type = "string",
                          description = "If using AWS providers (Bedrock), override the STS endpoint URL when assuming a different role.",
                        } },
                        { batch_bucket_prefix = {
                          type = "string",
                          description = "S3 URI prefix (s3://bucket/prefix/) where Bedrock will get input files from and store results to for native batch API.",
                        } },
                        { batch_role_arn = {
                          type = "string",
                          description = "AWS role arn used for calling batch API. Try to get the value from request if ommited.",
                        } },
                        { embeddings_normalize = {
                          type = "boolean",
                          default = false,
                          description = "If using AWS providers (Bedrock), set to true to normalize the embeddings.",
                        } },
                        { performance_config_latency = {
                          type = "string",
                          description = "Force the client's performance configuration 'latency' for all requests. Leave empty to let the consumer select the performance configuration.",
                        } },
                        { video_output_s3_uri = {
                          type = "string",
                          description = "S3 URI (s3://bucket/prefix) where Bedrock will store generated video files. Required for video generation.",
                        } },
                      },
                    } },
                    { gemini = {
                      type = "record",
                      fields = {
                        { api_endpoint = {
                          type = "string",
                          description = "If running Gemini on Vertex, specify the regional API endpoint (hostname only).",
                        } },
                        { location_id = {
                          type = "string",
                          description = "If running Gemini on Vertex, specify the location ID.",
                        } },
                        { project_id = {
                          type = "string",
                          description = "If running Gemini on Vertex, specify the project ID.",
                        } },
                      },
                    } },
                    { huggingface = {
                      type = "record",
                      fields = {
                        { use_cache = {
                          type = "boolean",
                          description = "Use the cache layer on the inference API",
                        } },
                        { wait_for_model = {
                          type = "boolean",
                          description = "Wait for the model if it is not ready",
                        } },
                      },
                    } },
                    { upstream_url = {
                      type = "string",
                      description = "upstream url for the embeddings",
                    } },
                  },
                  description = "Key/value settings for the model",
                } },
                { provider = {
                  type = "string",
                  required = true,
                  one_of = { "openai", "azure", "mistral", "bedrock", "gemini", "huggingface", "ollama" },
                  description = "AI provider format to use for embeddings API",
                } },
              },
            } },
          },
        } },
        { genai_category = {
          type = "string",
          default = "text/generation",
          one_of = { "text/generation", "text/embeddings", "audio/speech", "audio/transcription", "image/generation", "realtime/generation", "video/generation" },
          description = "Generative AI category of the request",
        } },
        { llm_format = {
          type = "string",
          default = "openai",
          one_of = { "openai", "bedrock", "gemini", "cohere", "huggingface", "anthropic" },
          description = "LLM input and output format and schema to use",
        } },
        { max_request_body_size = {
          type = "integer",
          default = 1048576,
          description = "max allowed body size allowed to be introspected. 0 means unlimited, but the size of this body will still be limited by Nginx's client_max_body_size.",
        } },
        { model_name_header = {
          type = "boolean",
          default = true,
          description = "Display the model name selected in the X-Kong-LLM-Model response header",
        } },
        { response_streaming = {
          type = "string",
          default = "allow",
          one_of = { "allow", "deny", "always" },
          description = "Whether to 'optionally allow', 'deny', or 'always' (force) the streaming of answers via server sent events.",
        } },
        { targets = {
          type = "array",
          required = true,
          elements = {
            type = "record",
            fields = {
              { auth = {
                type = "record",
                fields = {
                  { allow_override = {
                    type = "boolean",
                    default = false,
                    description = "If enabled, the authorization header or parameter can be overridden in the request by the value configured in the plugin.",
                  } },
                  { aws_access_key_id = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_ACCESS_KEY_ID environment variable for this plugin instance.",
                  } },
                  { aws_secret_access_key = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_SECRET_ACCESS_KEY environment variable for this plugin instance.",
                  } },
                  { azure_client_id = {
                    type = "string",
                    referenceable = true,
                    description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client ID.",
                  } },
                  { azure_client_secret = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client secret.",
                  } },
                  { azure_tenant_id = {
                    type = "string",
                    referenceable = true,
                    description = "If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the tenant ID.",
                  } },
                  { azure_use_managed_identity = {
                    type = "boolean",
                    default = false,
                    description = "Set true to use the Azure Cloud Managed Identity (or user-assigned identity) to authenticate with Azure-provider models.",
                  } },
                  { gcp_metadata_url = {
                    type = "string",
                    referenceable = true,
                    description = "Custom metadata URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google metadata endpoint.",
                  } },
                  { gcp_oauth_token_url = {
                    type = "string",
                    referenceable = true,
                    description = "Custom OAuth token URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google OAuth token endpoint.",
                  } },
                  { gcp_service_account_json = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "Set this field to the full JSON of the GCP service account to authenticate, if required. If null (and gcp_use_service_account is true), Kong will attempt to read from environment variable `GCP_SERVICE_ACCOUNT`.",
                  } },
                  { gcp_use_service_account = {
                    type = "boolean",
                    default = false,
                    description = "Use service account auth for GCP-based providers and models.",
                  } },
                  { header_name = {
                    type = "string",
                    referenceable = true,
                    description = "If AI model requires authentication via Authorization or API key header, specify its name here.",
                  } },
                  { header_value = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "Specify the full auth header value for 'header_name', for example 'Bearer key' or just 'key'.",
                  } },
                  { param_location = {
                    type = "string",
                    one_of = { "body", "query" },
                    description = "Specify whether the 'param_name' and 'param_value' options go in a query string, or the POST form/JSON body.",
                  } },
                  { param_name = {
                    type = "string",
                    referenceable = true,
                    description = "If AI model requires authentication via query parameter, specify its name here.",
                  } },
                  { param_value = {
                    type = "string",
                    referenceable = true,
                    encrypted = true,
                    description = "Specify the full parameter value for 'param_name'.",
                  } },
                },
              } },
              { description = {
                type = "string",
                description = "The semantic description of the target, required if using semantic load balancing. Specially, setting this to 'CATCHALL' will indicate such target to be used when no other targets match the semantic threshold. Only used by ai-proxy-advanced.",
              } },
              { logging = {
                type = "record",
                default = {
                  log_payloads = false,
                  log_statistics = false,
                },
                fields = {
                  { log_payloads = {
                    type = "boolean",
                    default = false,
                    description = "If enabled, will log the request and response body into the Kong log plugin(s) output.Furthermore if Opentelemetry instrumentation is enabled the traces will contain this data as well.",
                  } },
                  { log_statistics = {
                    type = "boolean",
                    default = false,
                    description = "If enabled and supported by the driver, will add model usage and token metrics into the Kong log plugin(s) output.",
                  } },
                },
              } },
              { metadata = {
                type = "json",
                json_schema = { inline = { type = "object" } },
                description = "For internal use only.",
              } },
              { model = {
                type = "record",
                required = true,
                fields = {
                  { model_alias = {
                    type = "string",
                    description = "The model name parameter from the request that this model should map to.",
                  } },
                  { name = {
                    type = "string",
                    description = "Model name to execute.",
                  } },
                  { options = {
                    type = "record",
                    fields = {
                      { anthropic_version = {
                        type = "string",
                        description = "Defines the schema/API version, if using Anthropic provider.",
                      } },
                      { azure_api_version = {
                        type = "string",
                        default = "2023-05-15",
                        description = "'api-version' for Azure OpenAI instances.",
                      } },
                      { azure_deployment_id = {
                        type = "string",
                        description = "Deployment ID for Azure OpenAI instances.",
                      } },
                      { azure_instance = {
                        type = "string",
                        description = "Instance name for Azure OpenAI hosted models.",
                      } },
                      { bedrock = {
                        type = "record",
                        fields = {
                          { aws_assume_role_arn = {
                            type = "string",
                            description = "If using AWS providers (Bedrock) you can assume a different role after authentication with the current IAM context is successful.",
                          } },
                          { aws_region = {
                            type = "string",
                            description = "If using AWS providers (Bedrock) you can override the `AWS_REGION` environment variable by setting this option.",
                          } },
                          { aws_role_session_name = {
                            type = "string",
                            description = "If using AWS providers (Bedrock), set the identifier of the assumed role session.",
                          } },
                          { aws_sts_endpoint_url = {
                            type = "string",
                            description = "If using AWS providers (Bedrock), override the STS endpoint URL when assuming a different role.",
                          } },
                          { batch_bucket_prefix = {
                            type = "string",
                            description = "S3 URI prefix (s3://bucket/prefix/) where Bedrock will get input files from and store results to for native batch API.",
                          } },
                          { batch_role_arn = {
                            type = "string",
                            description = "AWS role arn used for calling batch API. Try to get the value from request if ommited.",
                          } },
                          { embeddings_normalize = {
                            type = "boolean",
                            default = false,
                            description = "If using AWS providers (Bedrock), set to true to normalize the embeddings.",
                          } },
                          { performance_config_latency = {
                            type = "string",
                            description = "Force the client's performance configuration 'latency' for all requests. Leave empty to let the consumer select the performance configuration.",
                          } },
                          { video_output_s3_uri = {
                            type = "string",
                            description = "S3 URI (s3://bucket/prefix) where Bedrock will store generated video files. Required for video generation.",
                          } },
                        },
                      } },
                      { cache_read_cost = {
                        type = "number",
                        description = "Defines the cost per 1M cache-read (cached) prompt tokens.",
                      } },
                      { cache_write_cost = {
                        type = "number",
                        description = "Defines the cost per 1M cache-write prompt tokens.",
                      } },
                      { cache_write_cost_list = {
                        type = "array",
                        elements = {
                          type = "record",
                          fields = {
                            { cost = {
                              type = "number",
                              required = true,
                            } },
                            { ttl = {
                              type = "string",
                              required = true,
                            } },
                          },
                        },
                        description = "Per-cache-TTL cache-write pricing; overrides cache_write_cost per TTL. Configure this if the upstream provider charges differently for different cache TTLs, as Anthropic does for 5m and 1h TTLs.",
                      } },
                      { cohere = {
                        type = "record",
                        fields = {
                          { embedding_input_type = {
                            type = "string",
                            default = "classification",
                            one_of = { "classification", "clustering", "image", "search_document", "search_query" },
                            description = "The purpose of the input text to calculate embedding vectors.",
                          } },
                          { wait_for_model = {
                            type = "boolean",
                            description = "Wait for the model if it is not ready",
                          } },
                        },
                      } },
                      { context_window_factor = {
                        type = "array",
                        elements = {
                          type = "record",
                          fields = {
                            { above = {
                              type = "string",
                              required = true,
                            } },
                            { input_factor = {
                              type = "number",
                              required = true,
                            } },
                            { output_factor = {
                              type = "number",
                              required = true,
                            } },
                          },
                        },
                        description = "Above an input-token threshold, scale input/output pricing with the corresponding factor.",
                      } },
                      { dashscope = {
                        type = "record",
                        fields = {
                          { international = {
                            type = "boolean",
                            default = true,
                            description = "Two Dashscope endpoints are available, and the international endpoint will be used when this is set to `true`.\nIt is recommended to set this to `true` when using international version of dashscope.",
                          } },
                        },
                      } },
                      { databricks = {
                        type = "record",
                        fields = {
                          { workspace_instance_id = {
                            type = "string",
                            description = "Workspace Instance ID ('dbc-xxx-yyy') for Databricks model serving.",
                          } },
                        },
                      } },
                      { embeddings_dimensions = {
                        type = "integer",
                        description = "If using embeddings models, set the number of dimensions to generate.",
                      } },
                      { gemini = {
                        type = "record",
                        fields = {
                          { api_endpoint = {
                            type = "string",
                            description = "If running Gemini on Vertex, specify the regional API endpoint (hostname only).",
                          } },
                          { endpoint_id = {
                            type = "string",
                            description = "If running Gemini on Vertex Model Garden, specify the endpoint ID.",
                          } },
                          { location_id = {
                            type = "string",
                            description = "If running Gemini on Vertex, specify the location ID.",
                          } },
                          { project_id = {
                            type = "string",
                            description = "If running Gemini on Vertex, specify the project ID.",
                          } },
                        },
                        entity_checks = {
                          {
                            mutually_required = { "api_endpoint", "project_id", "location_id" },
                          },
                        },
                      } },
                      { huggingface = {
                        type = "record",
                        fields = {
                          { use_cache = {
                            type = "boolean",
                            description = "Use the cache layer on the inference API",
                          } },
                          { wait_for_model = {
                            type = "boolean",
                            description = "Wait for the model if it is not ready",
                          } },
                        },
                      } },
                      { input_cost = {
                        type = "number",
                        description = "Defines the cost per 1M tokens in your prompt.",
                      } },
                      { llama2_format = {
                        type = "string",
                        one_of = { "ollama", "openai", "raw" },
                        description = "If using llama2 provider, select the upstream message format.",
                      } },
                      { max_tokens = {
                        type = "integer",
                        description = "Defines the max_tokens, if using chat or completion models.",
                      } },
                      { mistral_format = {
                        type = "string",
                        one_of = { "ollama", "openai" },
                        description = "If using mistral provider, select the upstream message format.",
                      } },
                      { output_cost = {
                        type = "number",
                        description = "Defines the cost per 1M tokens in the output of the AI.",
                      } },
                      { service_tier_factor = {
                        type = "array",
                        elements = {
                          type = "record",
                          fields = {
                            { factor = {
                              type = "number",
                              required = true,
                            } },
                            { tier = {
                              type = "string",
                              required = true,
                              len_min = 1,
                              description = "A word matched case-insensitively as a substring of the vendor's reported service tier (e.g. 'priority', 'flex', or 'throughput' for Gemini/Vertex's PROVISIONED_THROUGHPUT). If several entries match, the longest (most specific) wins; array order doesn't matter. Configure 'priority' will also match 'fast' (whole word) as OpenAI returns either 'priority' or 'fast' for priority service tier.",
                            } },
                          },
                        },
                        description = "Multiplier applied to the whole request for a service tier. No need to configure a standard/default tier, as the default factor is 1.0 if none of the tier is matched.",
                      } },
                      { temperature = {
                        type = "number",
                        between = { 0, 5 },
                        description = "Defines the matching temperature, if using chat or completion models.",
                      } },
                      { top_k = {
                        type = "integer",
                        between = { 0, 500 },
                        description = "Defines the top-k most likely tokens, if supported.",
                      } },
                      { top_p = {
                        type = "number",
                        between = { 0, 1 },
                        description = "Defines the top-p probability mass, if supported.",
                      } },
                      { upstream_path = {
                        type = "string",
                        description = "Manually specify or override the AI operation path, used when e.g. using the 'preserve' route_type.",
                        deprecation = {
                          message = "llm: config.model.options.upstream_path is deprecated, please use config.model.options.upstream_url instead",
                          removal_in_version = "4.0",
                        },
                      } },
                      { upstream_url = {
                        type = "string",
                        custom_validator = validate_url,
                        description = "Manually specify or override the full URL to the AI operation endpoints, when calling (self-)hosted models, or for running via a private endpoint.",
                      } },
                    },
                    description = "Key/value settings for the model",
                  } },
                  { provider = {
                    type = "string",
                    required = true,
                    one_of = { "openai", "azure", "anthropic", "cohere", "mistral", "llama2", "gemini", "bedrock", "huggingface", "cerebras", "dashscope", "xai", "databricks", "deepseek", "ollama", "vllm" },
                    description = "AI provider request format - Kong translates requests to and from the specified backend compatible formats.",
                  } },
                },
              } },
              { route_type = {
                type = "string",
                required = true,
                one_of = { "llm/v1/chat", "llm/v1/completions", "llm/v1/embeddings", "llm/v1/files", "llm/v1/batches", "llm/v1/assistants", "llm/v1/responses", "llm/v1/multimodal-embeddings", "realtime/v1/realtime", "audio/v1/audio/speech", "audio/v1/audio/transcriptions", "audio/v1/audio/translations", "image/v1/images/generations", "image/v1/images/edits", "video/v1/videos/generations", "preserve" },
                description = "The model's operation implementation, for this provider.",
              } },
              { weight = {
                type = "integer",
                default = 100,
                between = { 1, 65535 },
                description = "The weight this target gets within the upstream loadbalancer (1-65535). Only used by ai-proxy-advanced.",
              } },
            },
            entity_checks = {
              {
                conditional = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "bedrock", "gemini" },
                  },
                  then_field = "auth.allow_override",
                  then_match = {
                    ne = true,
                  },
                  then_err = "bedrock and gemini only support auth.allow_override = false",
                },
              },
              {
                mutually_required = { "auth.header_name", "auth.header_value" },
              },
              {
                mutually_required = { "auth.param_name", "auth.param_value", "auth.param_location" },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "llama2" },
                  },
                  then_at_least_one_of = { "model.options.llama2_format" },
                  then_err = "must set %s for llama2 provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "mistral" },
                  },
                  then_at_least_one_of = { "model.options.mistral_format" },
                  then_err = "must set %s for mistral provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "anthropic" },
                  },
                  then_at_least_one_of = { "model.options.anthropic_version" },
                  then_err = "must set %s for anthropic provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "azure" },
                  },
                  then_at_least_one_of = { "model.options.azure_instance" },
                  then_err = "must set %s for azure provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "azure" },
                  },
                  then_at_least_one_of = { "model.options.azure_api_version" },
                  then_err = "must set %s for azure provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "azure" },
                  },
                  then_at_least_one_of = { "model.options.azure_deployment_id" },
                  then_err = "must set %s for azure provider",
                },
              },
              {
                conditional_at_least_one_of = {
                  if_field = "model.provider",
                  if_match = {
                    one_of = { "llama2" },
                  },
                  then_at_least_one_of = { "model.options.upstream_url" },
                  then_err = "must set %s for self-hosted providers/models",
                },
              },
              { custom_entity_check = {
        field_sources = { "route_type", "model", "logging" },
        fn = check_statistics_supported,
      } },
            },
          },
        } },
        { vectordb = {
          type = "record",
          fields = {
            { dimensions = {
              type = "integer",
              required = true,
              description = "the desired dimensionality for the vectors",
            } },
            { distance_metric = {
              type = "string",
              required = true,
              one_of = { "cosine", "euclidean" },
              description = "the distance metric to use for vector searches",
            } },
            { pgvector = {
              type = "record",
              default = {
                database = "kong-pgvector",
                host = "127.0.0.1",
                port = 5432,
                ssl = false,
                ssl_required = false,
                ssl_verify = true,
                ssl_version = "tlsv1_2",
                timeout = 5000,
                user = "postgres",
              },
              fields = {
                { database = {
                  type = "string",
                  default = "kong-pgvector",
                  description = "the database of the pgvector database",
                } },
                { host = {
                  type = "string",
                  default = "127.0.0.1",
                  description = "the host of the pgvector database",
                } },
                { password = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "the password of the pgvector database",
                } },
                { port = {
                  type = "integer",
                  default = 5432,
                  description = "the port of the pgvector database",
                } },
                { ssl = {
                  type = "boolean",
                  default = false,
                  description = "whether to use ssl for the pgvector database",
                } },
                { ssl_cert = {
                  type = "string",
                  description = "the path of ssl cert to use for the pgvector database",
                } },
                { ssl_cert_key = {
                  type = "string",
                  description = "the path of ssl cert key to use for the pgvector database",
                } },
                { ssl_required = {
                  type = "boolean",
                  default = false,
                  description = "whether ssl is required for the pgvector database",
                } },
                { ssl_verify = {
                  type = "boolean",
                  default = true,
                  description = "whether to verify ssl for the pgvector database",
                } },
                { ssl_version = {
                  type = "string",
                  default = "tlsv1_2",
                  one_of = { "any", "tlsv1_2", "tlsv1_3" },
                  description = "the ssl version to use for the pgvector database",
                } },
                { timeout = {
                  type = "number",
                  default = 5000,
                  description = "the timeout of the pgvector database",
                } },
                { user = {
                  type = "string",
                  default = "postgres",
                  referenceable = true,
                  description = "the user of the pgvector database",
                } },
              },
            } },
            { redis = {
              type = "record",
              default = {
                cluster_max_redirections = 5,
                connect_timeout = 2000,
                connection_is_proxied = false,
                database = 0,
                host = "127.0.0.1",
                keepalive_pool_size = 256,
                port = 6379,
                read_timeout = 2000,
                send_timeout = 2000,
                ssl = false,
                ssl_verify = true,
              },
              fields = {
                { cloud_authentication = {
                  type = "record",
                  fields = {
                    { auth_provider = {
                      type = "string",
                      one_of = { "aws", "azure", "gcp" },
                      referenceable = true,
                      description = "Auth providers to be used to authenticate to a Cloud Provider's Redis instance.",
                    } },
                    { aws_access_key_id = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "AWS Access Key ID to be used for authentication when `auth_provider` is set to `aws`.",
                    } },
                    { aws_assume_role_arn = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "The ARN of the IAM role to assume for generating ElastiCache IAM authentication tokens.",
                    } },
                    { aws_cache_name = {
                      type = "string",
                      referenceable = true,
                      description = "The name of the AWS Elasticache cluster when `auth_provider` is set to `aws`.",
                    } },
                    { aws_is_serverless = {
                      type = "boolean",
                      default = true,
                      description = "This flag specifies whether the cluster is serverless when auth_provider is set to `aws`.",
                    } },
                    { aws_region = {
                      type = "string",
                      referenceable = true,
                      description = "The region of the AWS ElastiCache cluster when `auth_provider` is set to `aws`.",
                    } },
                    { aws_role_session_name = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "The session name for the temporary credentials when assuming the IAM role.",
                    } },
                    { aws_secret_access_key = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "AWS Secret Access Key to be used for authentication when `auth_provider` is set to `aws`.",
                    } },
                    { azure_client_id = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "Azure Client ID to be used for authentication when `auth_provider` is set to `azure`.",
                    } },
                    { azure_client_secret = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "Azure Client Secret to be used for authentication when `auth_provider` is set to `azure`.",
                    } },
                    { azure_tenant_id = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "Azure Tenant ID to be used for authentication when `auth_provider` is set to `azure`.",
                    } },
                    { gcp_service_account_json = {
                      type = "string",
                      referenceable = true,
                      encrypted = true,
                      description = "GCP Service Account JSON to be used for authentication when `auth_provider` is set to `gcp`.",
                    } },
                  },
                  description = "Cloud auth related configs for connecting to a Cloud Provider's Redis instance.",
                } },
                { cluster_max_redirections = {
                  type = "integer",
                  default = 5,
                  description = "Maximum retry attempts for redirection.",
                } },
                { cluster_nodes = {
                  type = "array",
                  elements = {
                    type = "record",
                    fields = {
                      { ip = {
                        type = "string",
                        default = "127.0.0.1",
                        description = "A string representing a host name, such as example.com.",
                      } },
                      { port = {
                        type = "integer",
                        default = 6379,
                        between = { 0, 65535 },
                        description = "An integer representing a port number between 0 and 65535, inclusive.",
                      } },
                    },
                  },
                  len_min = 1,
                  description = "Cluster addresses to use for Redis connections when the `redis` strategy is defined. Defining this field implies using a Redis Cluster. The minimum length of the array is 1 element.",
                } },
                { connect_timeout = {
                  type = "integer",
                  default = 2000,
                  between = { 0, 2147483646 },
                  description = "An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.",
                } },
                { connection_is_proxied = {
                  type = "boolean",
                  default = false,
                  description = "If the connection to Redis is proxied (e.g. Envoy), set it `true`. Set the `host` and `port` to point to the proxy address.",
                } },
                { database = {
                  type = "integer",
                  default = 0,
                  description = "Database to use for the Redis connection when using the `redis` strategy",
                } },
                { host = {
                  type = "string",
                  default = "127.0.0.1",
                  referenceable = true,
                  description = "A string representing a host name, such as example.com.",
                } },
                { keepalive_backlog = {
                  type = "integer",
                  between = { 0, 2147483646 },
                  description = "Limits the total number of opened connections for a pool. If the connection pool is full, connection queues above the limit go into the backlog queue. If the backlog queue is full, subsequent connect operations fail and return `nil`. Queued operations (subject to set timeouts) resume once the number of connections in the pool is less than `keepalive_pool_size`. If latency is high or throughput is low, try increasing this value. Empirically, this value is larger than `keepalive_pool_size`.",
                } },
                { keepalive_pool_size = {
                  type = "integer",
                  default = 256,
                  between = { 1, 2147483646 },
                  description = "The size limit for every cosocket connection pool associated with every remote server, per worker process. If neither `keepalive_pool_size` nor `keepalive_backlog` is specified, no pool is created. If `keepalive_pool_size` isn't specified but `keepalive_backlog` is specified, then the pool uses the default value. Try to increase (e.g. 512) this value if latency is high or throughput is low.",
                } },
                { password = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Password to use for Redis connections. If undefined, no AUTH commands are sent to Redis.",
                } },
                { port = {
                  type = "integer",
                  default = 6379,
                  between = { 0, 65535 },
                  referenceable = true,
                  description = "An integer representing a port number between 0 and 65535, inclusive.",
                } },
                { read_timeout = {
                  type = "integer",
                  default = 2000,
                  between = { 0, 2147483646 },
                  description = "An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.",
                } },
                { send_timeout = {
                  type = "integer",
                  default = 2000,
                  between = { 0, 2147483646 },
                  description = "An integer representing a timeout in milliseconds. Must be between 0 and 2^31-2.",
                } },
                { sentinel_master = {
                  type = "string",
                  description = "Sentinel master to use for Redis connections. Defining this value implies using Redis Sentinel.",
                } },
                { sentinel_nodes = {
                  type = "array",
                  elements = {
                    type = "record",
                    fields = {
                      { host = {
                        type = "string",
                        default = "127.0.0.1",
                        description = "A string representing a host name, such as example.com.",
                      } },
                      { port = {
                        type = "integer",
                        default = 6379,
                        between = { 0, 65535 },
                        description = "An integer representing a port number between 0 and 65535, inclusive.",
                      } },
                    },
                  },
                  len_min = 1,
                  description = "Sentinel node addresses to use for Redis connections when the `redis` strategy is defined. Defining this field implies using a Redis Sentinel. The minimum length of the array is 1 element.",
                } },
                { sentinel_password = {
                  type = "string",
                  referenceable = true,
                  encrypted = true,
                  description = "Sentinel password to authenticate with a Redis Sentinel instance. If undefined, no AUTH commands are sent to Redis Sentinels.",
                } },
                { sentinel_role = {
                  type = "string",
                  one_of = { "any", "master", "slave" },
                  description = "Sentinel role to use for Redis connections when the `redis` strategy is defined. Defining this value implies using Redis Sentinel.",
                } },
                { sentinel_username = {
                  type = "string",
                  referenceable = true,
                  description = "Sentinel username to authenticate with a Redis Sentinel instance. If undefined, ACL authentication won't be performed. This requires Redis v6.2.0+.",
                } },
                { server_name = {
                  type = "string",
                  referenceable = true,
                  description = "A string representing an SNI (server name indication) value for TLS.",
                } },
                { ssl = {
                  type = "boolean",
                  default = false,
                  description = "If set to true, uses SSL to connect to Redis.",
                } },
                { ssl_verify = {
                  type = "boolean",
                  default = true,
                  description = "If set to true, verifies the validity of the server SSL certificate. If setting this parameter, also configure `lua_ssl_trusted_certificate` in `kong.conf` to specify the CA (or server) certificate used by your Redis server. You may also need to configure `lua_ssl_verify_depth` accordingly.",
                } },
                { username = {
                  type = "string",
                  referenceable = true,
                  description = "Username to use for Redis connections. If undefined, ACL authentication won't be performed. This requires Redis v6.0.0+. To be compatible with Redis v5.x.y, you can set it to `default`.",
                } },
              },
              shorthand_fields = {
                { timeout = { type = "integer", description = "Deprecated: sets connect_timeout, send_timeout and read_timeout at once (milliseconds).", func = function(value) return { connect_timeout = value, send_timeout = value, read_timeout = value } end } },
                { sentinel_addresses = { type = "array", elements = { type = "string" }, len_min = 1, description = "Deprecated: Sentinel addresses as \"host:port\" strings; use sentinel_nodes.", func = function(value) return { sentinel_nodes = addresses_to_nodes(value, "host") } end } },
                { cluster_addresses = { type = "array", elements = { type = "string" }, len_min = 1, description = "Deprecated: Cluster addresses as \"ip:port\" strings; use cluster_nodes.", func = function(value) return { cluster_nodes = addresses_to_nodes(value, "ip") } end } },
              },
            } },
            { strategy = {
              type = "string",
              required = true,
              one_of = { "redis", "pgvector" },
              description = "which vector database driver to use",
            } },
            { threshold = {
              type = "number",
              description = "the default similarity threshold for accepting semantic search results (float). Higher threshold means more results are considered similar.",
            } },
          },
        } },
      },
      entity_checks = {
        { custom_entity_check = {
        field_sources = { "balancer", "targets" },
        fn = check_semantic_descriptions,
      } },
        { custom_entity_check = {
        field_sources = { "llm_format", "targets" },
        fn = check_native_format_targets,
      } },
        { custom_entity_check = {
        field_sources = { "llm_format", "targets" },
        fn = check_route_types_served,
      } },
      },
    } },
  },
}
