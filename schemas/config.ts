/**
 * TypeScript view of a validated ai-proxy-advanced config, derived at compile time from the one definition
 * (schemas/definition/*, see dsl.ts InferRecord): a field the definition does not have cannot be read.
 *
 * Shape: what Kong (or validateConfig) hands the plugin: defaults filled, unset fields JSON `null`, plus the
 * bookkeeping keys Kong adds (kong/runloop/plugins_iterator.lua get_plugin_config). Field names are Kong's
 * snake_case verbatim. Only fields the user must always supply are required properties; every other field is
 * `?: T | null` (Kong sends null for unset fields, hand-written configs omit them). After validateConfig,
 * fields with a default and the records balancer, targets[].logging, vectordb.redis/pgvector are always set.
 */
import type { InferField, InferFilledRecord, InferRecord } from './dsl';
import type {
  ACL_RULE,
  AUTH,
  BALANCER,
  BEDROCK_OPTIONS,
  EMBEDDINGS,
  GEMINI_OPTIONS,
  HUGGINGFACE_OPTIONS,
  LOGGING,
  MODEL,
  MODEL_OPTIONS,
  PLUGIN_CONFIG,
  REDIS,
  TARGET,
  VECTORDB,
} from './definition';

export {
  ROUTE_TYPES,
  PROVIDERS,
  ALGORITHMS,
  FAILOVER_CRITERIA,
  TOKENS_COUNT_STRATEGIES,
  LATENCY_STRATEGIES,
  LLM_FORMATS,
  GENAI_CATEGORIES,
  EMBEDDINGS_PROVIDERS,
  ACL_MATCH_TYPES,
} from './definition/enums';
export type {
  RouteType,
  ProviderName,
  Algorithm,
  FailoverCriterion,
  TokensCountStrategy,
  LatencyStrategy,
  LlmFormat,
  GenaiCategory,
  ResponseStreamingMode,
  EmbeddingsProvider,
  AclMatchType,
} from './definition/enums';

export type Opt<T> = T | null | undefined;

export interface AuthConfig extends InferRecord<(typeof AUTH)['fields']> {}
export interface LoggingConfig extends InferRecord<(typeof LOGGING)['fields']> {}
export interface BedrockOptions extends InferRecord<(typeof BEDROCK_OPTIONS)['fields']> {}
export interface GeminiOptions extends InferRecord<(typeof GEMINI_OPTIONS)['fields']> {}
export interface HuggingfaceOptions extends InferRecord<(typeof HUGGINGFACE_OPTIONS)['fields']> {}
export interface ModelOptions extends InferRecord<(typeof MODEL_OPTIONS)['fields']> {}
export interface ModelConfig extends InferRecord<(typeof MODEL)['fields']> {}
export interface TargetConfig extends InferRecord<(typeof TARGET)['fields']> {}
export interface BalancerConfig extends InferRecord<(typeof BALANCER)['fields']> {}
export interface EmbeddingsConfig extends InferRecord<(typeof EMBEDDINGS)['fields']> {}
export interface RedisConfig extends InferRecord<(typeof REDIS)['fields']> {}
export type PgvectorConfig = NonNullable<VectordbConfig['pgvector']>;
export interface VectordbConfig extends InferRecord<(typeof VECTORDB)['fields']> {}
export type AclRule = InferRecord<(typeof ACL_RULE)['fields']>;
export type AclMatch = InferField<(typeof ACL_RULE)['fields']['match']['elements']>;
export interface AiProxyAdvancedConfig extends InferRecord<(typeof PLUGIN_CONFIG)['fields']> {}

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

export const KONG_INSTANCE_KEYS: ReadonlyArray<keyof KongInstanceKeys> = [
  '__plugin_id',
  '__seq__',
  '__key__',
  '__ws_id',
  'route_id',
  'service_id',
  'consumer_id',
  'plugin_instance_name',
];

export type PluginConfig = AiProxyAdvancedConfig & KongInstanceKeys;

/**
 * The config as validateConfig returns it (the only producer): every field with a schema default, every
 * autofill record (balancer, auth, logging, vectordb.redis/pgvector) and every required field is present and
 * non-null, recursively. Read these fields as they are: the defaults were applied once, in schemas/defaults.ts;
 * the engine and balancers keep no copies of them.
 */
export interface FilledBalancerConfig extends InferFilledRecord<(typeof BALANCER)['fields']> {}
export interface FilledTargetConfig extends InferFilledRecord<(typeof TARGET)['fields']> {}
export interface FilledAiProxyAdvancedConfig extends InferFilledRecord<(typeof PLUGIN_CONFIG)['fields']> {}
export type FilledConfig = FilledAiProxyAdvancedConfig & KongInstanceKeys;
/** `vectordb` after validateConfig: its redis and pgvector records are always present with their defaults. */
export type FilledVectordbConfig = NonNullable<FilledConfig['vectordb']>;
export type FilledRedisConfig = FilledVectordbConfig['redis'];
export type FilledPgvectorConfig = FilledVectordbConfig['pgvector'];
