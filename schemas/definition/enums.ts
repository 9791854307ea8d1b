/**
 * Value lists of the config, newest version first-class: each list is the union of every Kong version from
 * 3.8 to 3.14 (values were only ever added), plus values Kong's changelog announces that the DOCS schema
 * export does not list yet (`llm/v1/multimodal-embeddings`, 3.14 changelog). Order follows Kong's Lua
 * schemas where known; it is not significant.
 */

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

export const TOKENS_COUNT_STRATEGIES = [
  'total-tokens',
  'prompt-tokens',
  'completion-tokens',
  'cost',
  'llm-accuracy',
] as const;
export type TokensCountStrategy = (typeof TOKENS_COUNT_STRATEGIES)[number];

export const LATENCY_STRATEGIES = ['tpot', 'e2e'] as const;
export type LatencyStrategy = (typeof LATENCY_STRATEGIES)[number];

export const LLM_FORMATS = ['openai', 'bedrock', 'gemini', 'cohere', 'huggingface', 'anthropic'] as const;
export type LlmFormat = (typeof LLM_FORMATS)[number];

export const GENAI_CATEGORIES = [
  'text/generation',
  'text/embeddings',
  'audio/speech',
  'audio/transcription',
  'image/generation',
  'realtime/generation',
  'video/generation',
] as const;
export type GenaiCategory = (typeof GENAI_CATEGORIES)[number];

export const RESPONSE_STREAMING_MODES = ['allow', 'deny', 'always'] as const;
export type ResponseStreamingMode = (typeof RESPONSE_STREAMING_MODES)[number];

export const EMBEDDINGS_PROVIDERS = ['openai', 'azure', 'mistral', 'bedrock', 'gemini', 'huggingface', 'ollama'] as const;
export type EmbeddingsProvider = (typeof EMBEDDINGS_PROVIDERS)[number];

export const ACL_MATCH_TYPES = ['consumer', 'consumer_group', 'header', 'ip', 'model', 'path', 'provider'] as const;
export type AclMatchType = (typeof ACL_MATCH_TYPES)[number];

export const VECTORDB_STRATEGIES = ['redis', 'pgvector'] as const;
export const DISTANCE_METRICS = ['cosine', 'euclidean'] as const;
