/**
 * TypeScript view of a validated ai-proxy-advanced config, as Kong (or the local gateway) hands it to the
 * plugin in StartInstance: schema defaults filled in, unset nullable fields present as `null`, plus the
 * bookkeeping keys Kong adds (kong/runloop/plugins_iterator.lua get_plugin_config).
 *
 * Field names are Kong's snake_case verbatim (no renaming layer). Every optional field is `?: T | null`
 * because Kong sends JSON null for unset fields while hand-written configs simply omit them.
 *
 * NOTE: provisional hand-written types; the schema issue (#4) derives these from the one schema source and
 * keeps every exported name below.
 */

export type Opt<T> = T | null | undefined;

export const ROUTE_TYPES = [
  'llm/v1/chat',
  'llm/v1/completions',
  'llm/v1/embeddings',
  'llm/v1/files',
  'llm/v1/batches',
  'llm/v1/assistants',
  'llm/v1/responses',
  'llm/v1/multimodal-embeddings',
  'realtime/v1/realtime',
  'audio/v1/audio/speech',
  'audio/v1/audio/transcriptions',
  'audio/v1/audio/translations',
  'image/v1/images/generations',
  'image/v1/images/edits',
  'video/v1/videos/generations',
  'preserve',
] as const;
export type RouteType = (typeof ROUTE_TYPES)[number];

export const PROVIDERS = [
  'openai',
  'azure',
  'anthropic',
  'cohere',
  'mistral',
  'llama2',
  'gemini',
  'bedrock',
  'huggingface',
  'cerebras',
  'dashscope',
  'xai',
  'databricks',
  'deepseek',
  'ollama',
  'vllm',
] as const;
export type ProviderName = (typeof PROVIDERS)[number];

export const ALGORITHMS = [
  'round-robin',
  'consistent-hashing',
  'lowest-latency',
  'lowest-usage',
  'least-connections',
  'priority',
  'semantic',
] as const;
export type Algorithm = (typeof ALGORITHMS)[number];

export const FAILOVER_CRITERIA = [
  'error',
  'timeout',
  'invalid_header',
  'http_500',
  'http_502',
  'http_503',
  'http_504',
  'http_403',
  'http_404',
  'http_429',
  'non_idempotent',
] as const;
export type FailoverCriterion = (typeof FAILOVER_CRITERIA)[number];

export type TokensCountStrategy = 'total-tokens' | 'prompt-tokens' | 'completion-tokens' | 'cost' | 'llm-accuracy';
export type LatencyStrategy = 'tpot' | 'e2e';

export interface AuthConfig {
  header_name?: Opt<string>;
  header_value?: Opt<string>;
  param_name?: Opt<string>;
  param_value?: Opt<string>;
  param_location?: Opt<'query' | 'body'>;
  allow_override?: Opt<boolean>;
  azure_use_managed_identity?: Opt<boolean>;
  azure_client_id?: Opt<string>;
  azure_client_secret?: Opt<string>;
  azure_tenant_id?: Opt<string>;
  gcp_use_service_account?: Opt<boolean>;
  gcp_service_account_json?: Opt<string>;
  gcp_metadata_url?: Opt<string>;
  gcp_oauth_token_url?: Opt<string>;
  aws_access_key_id?: Opt<string>;
  aws_secret_access_key?: Opt<string>;
}

export interface LoggingConfig {
  log_statistics?: Opt<boolean>;
  log_payloads?: Opt<boolean>;
}

export interface BedrockOptions {
  aws_region?: Opt<string>;
  aws_assume_role_arn?: Opt<string>;
  aws_role_session_name?: Opt<string>;
  aws_sts_endpoint_url?: Opt<string>;
  embeddings_normalize?: Opt<boolean>;
  performance_config_latency?: Opt<string>;
  video_output_s3_uri?: Opt<string>;
  batch_bucket_prefix?: Opt<string>;
  batch_role_arn?: Opt<string>;
}

export interface GeminiOptions {
  api_endpoint?: Opt<string>;
  project_id?: Opt<string>;
  location_id?: Opt<string>;
  endpoint_id?: Opt<string>;
}

export interface HuggingfaceOptions {
  use_cache?: Opt<boolean>;
  wait_for_model?: Opt<boolean>;
}

export interface ModelOptions {
  max_tokens?: Opt<number>;
  temperature?: Opt<number>;
  top_p?: Opt<number>;
  top_k?: Opt<number>;
  input_cost?: Opt<number>;
  output_cost?: Opt<number>;
  cache_read_cost?: Opt<number>;
  cache_write_cost?: Opt<number>;
  cache_write_cost_list?: Opt<Array<{ ttl: string; cost: number }>>;
  context_window_factor?: Opt<Array<{ above: string; input_factor: number; output_factor: number }>>;
  service_tier_factor?: Opt<Array<{ tier: string; factor: number }>>;
  anthropic_version?: Opt<string>;
  azure_instance?: Opt<string>;
  azure_deployment_id?: Opt<string>;
  azure_api_version?: Opt<string>;
  llama2_format?: Opt<'raw' | 'openai' | 'ollama'>;
  mistral_format?: Opt<'openai' | 'ollama'>;
  upstream_url?: Opt<string>;
  upstream_path?: Opt<string>;
  embeddings_dimensions?: Opt<number>;
  gemini?: Opt<GeminiOptions>;
  bedrock?: Opt<BedrockOptions>;
  huggingface?: Opt<HuggingfaceOptions>;
  cohere?: Opt<{ embedding_input_type?: Opt<string>; wait_for_model?: Opt<boolean> }>;
  dashscope?: Opt<{ international?: Opt<boolean> }>;
  databricks?: Opt<{ workspace_instance_id?: Opt<string> }>;
}

export interface ModelConfig {
  provider: ProviderName;
  name?: Opt<string>;
  model_alias?: Opt<string>;
  options?: Opt<ModelOptions>;
}

export interface TargetConfig {
  route_type: RouteType;
  model: ModelConfig;
  auth?: Opt<AuthConfig>;
  logging?: Opt<LoggingConfig>;
  weight?: Opt<number>;
  description?: Opt<string>;
  metadata?: Opt<Record<string, unknown>>;
}

export interface BalancerConfig {
  algorithm?: Opt<Algorithm>;
  tokens_count_strategy?: Opt<TokensCountStrategy>;
  latency_strategy?: Opt<LatencyStrategy>;
  hash_on_header?: Opt<string>;
  slots?: Opt<number>;
  retries?: Opt<number>;
  connect_timeout?: Opt<number>;
  write_timeout?: Opt<number>;
  read_timeout?: Opt<number>;
  failover_criteria?: Opt<FailoverCriterion[]>;
  max_fails?: Opt<number>;
  fail_timeout?: Opt<number>;
}

export interface EmbeddingsConfig {
  auth?: Opt<AuthConfig>;
  model: {
    provider: 'openai' | 'azure' | 'mistral' | 'bedrock' | 'gemini' | 'huggingface' | 'ollama';
    name: string;
    options?: Opt<{
      upstream_url?: Opt<string>;
      azure?: Opt<{ instance?: Opt<string>; deployment_id?: Opt<string>; api_version?: Opt<string> }>;
      bedrock?: Opt<BedrockOptions>;
      gemini?: Opt<GeminiOptions>;
      huggingface?: Opt<HuggingfaceOptions>;
    }>;
  };
}

export interface RedisConfig {
  host?: Opt<string>;
  port?: Opt<number>;
  database?: Opt<number>;
  username?: Opt<string>;
  password?: Opt<string>;
  ssl?: Opt<boolean>;
  ssl_verify?: Opt<boolean>;
  server_name?: Opt<string>;
  connect_timeout?: Opt<number>;
  send_timeout?: Opt<number>;
  read_timeout?: Opt<number>;
  keepalive_pool_size?: Opt<number>;
  keepalive_backlog?: Opt<number>;
  sentinel_master?: Opt<string>;
  sentinel_role?: Opt<'master' | 'slave' | 'any'>;
  sentinel_nodes?: Opt<Array<{ host?: Opt<string>; port?: Opt<number> }>>;
  sentinel_username?: Opt<string>;
  sentinel_password?: Opt<string>;
  cluster_nodes?: Opt<Array<{ ip?: Opt<string>; port?: Opt<number> }>>;
  cluster_max_redirections?: Opt<number>;
  connection_is_proxied?: Opt<boolean>;
  cloud_authentication?: Opt<Record<string, unknown>>;
}

export interface VectordbConfig {
  strategy: 'redis' | 'pgvector';
  dimensions: number;
  distance_metric: 'cosine' | 'euclidean';
  threshold?: Opt<number>;
  redis?: Opt<RedisConfig>;
  pgvector?: Opt<Record<string, unknown>>;
}

export interface AclMatch {
  type: 'consumer' | 'consumer_group' | 'header' | 'ip' | 'model' | 'path' | 'provider';
  key?: Opt<string>;
  values: string[];
}

export interface AiProxyAdvancedConfig {
  targets: TargetConfig[];
  balancer?: Opt<BalancerConfig>;
  embeddings?: Opt<EmbeddingsConfig>;
  vectordb?: Opt<VectordbConfig>;
  response_streaming?: Opt<'allow' | 'deny' | 'always'>;
  max_request_body_size?: Opt<number>;
  model_name_header?: Opt<boolean>;
  llm_format?: Opt<'openai' | 'anthropic' | 'bedrock' | 'cohere' | 'gemini' | 'huggingface'>;
  genai_category?: Opt<string>;
  acls?: Opt<{ allow?: Opt<Array<{ match: AclMatch[] }>>; deny?: Opt<Array<{ match: AclMatch[] }>> }>;
}

/** Keys Kong adds to the config it sends in StartInstance (plugins_iterator.lua get_plugin_config). */
export interface KongInstanceKeys {
  __plugin_id?: string;
  __seq__?: number;
  __key__?: string;
  __ws_id?: string;
  route_id?: string;
  service_id?: string;
  consumer_id?: string;
  plugin_instance_name?: string;
}

export type PluginConfig = AiProxyAdvancedConfig & KongInstanceKeys;
