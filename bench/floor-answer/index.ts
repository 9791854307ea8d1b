/**
 * The floor of `npm run bench -- engine`: an external JS plugin that does, over Kong's RPC, exactly what
 * ai-proxy-advanced does for a buffered chat request (get_headers, get_raw_body(limit), get_path_with_query,
 * then kong.response.exit with the answer: HandleEvent plus three Steps) but no work of its own and no provider
 * call: it answers a canned chat completion (spec/engine/rpc-calls.test.ts keeps the calls and their arguments
 * equal to ai-proxy-advanced's for the bench's config). Served by the same plugin-server runtime through the same
 * gateway, its plugin-server CPU per request is what the RPC alone costs in that setup; ai-proxy-advanced's
 * figure above it is the engine's work plus its provider call.
 * It follows ai-proxy-advanced's two switches, so the floor matches the configuration measured: the log phase is
 * declared unless AI_PROXY_ADVANCED_LOG_PHASE is off (Kong then sends a log event per request, answered at once),
 * and `config.serialize` (the bench's log_statistics) adds the one kong.log.set_serialize_value before the exit.
 */
import { FLOOR_BLOCK, FLOOR_PHASES, readLikeAiProxyAdvanced, type FloorKong } from '../lib/floor-kong';

const ANSWER = JSON.stringify({
  id: 'chatcmpl-floor',
  object: 'chat.completion',
  created: 0,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'floor' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

export class Plugin {
  constructor(private readonly config: { serialize?: boolean }) {}

  async access(kong: FloorKong): Promise<void> {
    await readLikeAiProxyAdvanced(kong);
    if (this.config.serialize) await kong.log.setSerializeValue('ai.proxy', FLOOR_BLOCK);
    await kong.response.exit(200, ANSWER, { 'content-type': 'application/json' });
  }

  log(): void {
    // Answered with no PDK call, as ai-proxy-advanced answers a log event with no stream waiting.
  }
}

export const Phases = FLOOR_PHASES;
export const Name = 'floor-answer';
export const Version = '0.1.0';
export const Priority = 770;
export const Schema = [{ serialize: { type: 'boolean', default: false } }];
