/**
 * What the two buffered-request floors (bench/floor-answer, bench/floor-call) share: ai-proxy-advanced's reads of
 * the client request for the bench's config, in its order and with its arguments (spec/engine/rpc-calls.test.ts
 * keeps floor-answer's equal to the plugin's), the `ai.proxy` block for `config.serialize` (the bench's
 * log_statistics), and the phases, which follow AI_PROXY_ADVANCED_LOG_PHASE as ai-proxy-advanced's do.
 */
export interface FloorKong {
  request: {
    getHeaders(max?: number): Promise<unknown>;
    getRawBody(max?: number): Promise<unknown>;
    getPathWithQuery(): Promise<unknown>;
  };
  response: { exit(status: number, body: unknown, headers: Record<string, string>): Promise<void> };
  log: { setSerializeValue(key: string, value: unknown): Promise<void> };
}

/**
 * ai-proxy-advanced asks Kong for at most `max_request_body_size` bytes; the bench's config leaves it at the
 * schema's default (schemas/definition/plugin.ts), so that is the argument here.
 */
const MAX_REQUEST_BODY_SIZE = 1048576;

export const FLOOR_BLOCK = { meta: { plugin_id: 'floor', provider_name: 'openai', request_model: 'gpt-4o-mini', response_model: 'gpt-4o-mini', llm_latency: 1 }, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2, cost: 0 } };

/** get_headers, get_raw_body(limit), get_path_with_query, as engine/pdk.ts readClientRequest; the raw body. */
export async function readLikeAiProxyAdvanced(kong: FloorKong): Promise<unknown> {
  await kong.request.getHeaders(1000);
  const raw = await kong.request.getRawBody(MAX_REQUEST_BODY_SIZE);
  await kong.request.getPathWithQuery();
  return raw;
}

export const FLOOR_PHASES = process.env.AI_PROXY_ADVANCED_LOG_PHASE?.trim().toLowerCase() === 'off' ? ['access'] : ['access', 'log'];
