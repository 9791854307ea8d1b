/**
 * Which `route_type` each provider is served for by this version, decided from the config (validateConfig, so
 * `npm run validate`, the Admin API and the plugin all refuse the same configs) and never at request time.
 *
 * Kong's schema accepts every route type with every provider; which pairs work is Kong's provider table
 * (developer.konghq.com app/_data/plugins/ai-proxy.yaml, copied in ../shared/kong-ai-proxy-advanced/schemas).
 * Kong OSS carries none of the 3.11+ route types (kong/llm/schemas/init.lua lists chat, completions, preserve),
 * so the OpenAI-format ones are served as the OpenAI API defines them, for the providers that speak it there
 * (openai, azure; xai for responses and image generations). The provider drivers serve exactly these pairs
 * (spec/engine/route-types-config.test.ts holds them to it).
 *
 * `realtime/v1/realtime` is a WebSocket upgrade: Kong hands an external plugin server no socket, only the
 * request phases and `kong.response.exit`, so no plugin server can relay it. It is refused for every provider.
 */
import { ROUTE_TYPES, type ProviderName, type RouteType } from './enums';

/**
 * Route types the OpenAI API defines beyond chat / completions / embeddings (Kong 3.11+ and 3.13 video): every
 * value of the enum but those, multimodal embeddings (no OpenAI API) and realtime (refused below).
 */
const NOT_OPENAI_API: readonly RouteType[] = ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings', 'llm/v1/multimodal-embeddings', 'realtime/v1/realtime', 'preserve'];
export const OPENAI_API_ROUTE_TYPES: readonly RouteType[] = ROUTE_TYPES.filter((t) => !NOT_OPENAI_API.includes(t));

const OPENAI_FAMILY = ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings', 'preserve', ...OPENAI_API_ROUTE_TYPES] as const;
const CHAT_AND_PRESERVE = ['llm/v1/chat', 'preserve'] as const;
const CHAT_COMPLETIONS_EMBEDDINGS = ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'] as const;

export const SERVED_ROUTE_TYPES: Readonly<Record<ProviderName, readonly RouteType[]>> = {
  openai: OPENAI_FAMILY,
  azure: OPENAI_FAMILY,
  xai: [...CHAT_AND_PRESERVE, 'llm/v1/responses', 'image/v1/images/generations'],
  vllm: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings', 'preserve'],
  deepseek: CHAT_AND_PRESERVE,
  cerebras: CHAT_AND_PRESERVE,
  databricks: CHAT_AND_PRESERVE,
  dashscope: ['llm/v1/chat', 'llm/v1/embeddings', 'preserve'],
  anthropic: ['llm/v1/chat', 'llm/v1/completions'],
  gemini: ['llm/v1/chat', 'llm/v1/embeddings'],
  bedrock: ['llm/v1/chat', 'llm/v1/embeddings'],
  cohere: CHAT_COMPLETIONS_EMBEDDINGS,
  huggingface: CHAT_COMPLETIONS_EMBEDDINGS,
  ollama: CHAT_COMPLETIONS_EMBEDDINGS,
  llama2: CHAT_COMPLETIONS_EMBEDDINGS,
  mistral: CHAT_COMPLETIONS_EMBEDDINGS,
};

export const REALTIME_REFUSAL =
  "route_type 'realtime/v1/realtime' is a WebSocket upgrade, which Kong does not hand to external plugin servers: " +
  'this plugin cannot serve it (use Kong Enterprise ai-proxy-advanced for realtime)';

/**
 * Formats of the self-hosted providers that lack a route type their provider has: Kong's provider table
 * ("Raw format lacks support for llm/v1/embeddings"); OSS kong/llm/drivers/mistral.lua has no ollama embeddings.
 */
export const FORMAT_GAPS = [
  { provider: 'llama2', option: 'llama2_format', value: 'raw', routeTypes: ['llm/v1/embeddings'] },
  { provider: 'mistral', option: 'mistral_format', value: 'ollama', routeTypes: ['llm/v1/embeddings'] },
] as const satisfies ReadonlyArray<{ provider: ProviderName; option: string; value: string; routeTypes: readonly RouteType[] }>;

/**
 * Why `routeType` cannot be served for `provider`, or undefined when it can. With a native `llm_format` (not
 * `openai`) the client speaks the provider's own API and the route type only names the operation, so only
 * realtime is refused here; the native formats decide the rest.
 */
export function routeTypeProblem(
  provider: string,
  routeType: string,
  llmFormat: string | null | undefined,
  options?: Readonly<Record<string, unknown>> | null,
): string | undefined {
  if (routeType === 'realtime/v1/realtime') return REALTIME_REFUSAL;
  // A value outside the enum is the enum check's error already.
  if ((llmFormat != null && llmFormat !== 'openai') || !(ROUTE_TYPES as readonly string[]).includes(routeType)) return undefined;
  const served = (SERVED_ROUTE_TYPES as Record<string, readonly string[] | undefined>)[provider];
  if (served !== undefined && !served.includes(routeType)) {
    return `route_type '${routeType}' is not served for provider '${provider}' by this version of ai-proxy-advanced (served: ${served.join(', ')})`;
  }
  for (const gap of FORMAT_GAPS) {
    if (gap.provider === provider && options?.[gap.option] === gap.value && (gap.routeTypes as readonly string[]).includes(routeType)) {
      return `route_type '${routeType}' is not served for provider '${provider}' with ${gap.option} '${gap.value}'`;
    }
  }
  return undefined;
}
