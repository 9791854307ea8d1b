/**
 * The floor of `npm run bench -- engine`: an external JS plugin that does, over Kong's RPC, exactly what
 * ai-proxy-advanced does for a buffered chat request (get_headers, get_raw_body(limit), get_path_with_query,
 * then kong.response.exit with the answer: HandleEvent plus three Steps) but no work of its own and no provider
 * call: it answers a canned chat completion. Served by the same plugin-server runtime through the same gateway,
 * its plugin-server CPU per request is what the RPC alone costs in that setup; ai-proxy-advanced's figure above
 * it is the engine's work plus its provider call.
 */
interface FloorAnswerKong {
  request: {
    getHeaders(max?: number): Promise<unknown>;
    getRawBody(max?: number): Promise<unknown>;
    getPathWithQuery(): Promise<unknown>;
  };
  response: { exit(status: number, body: string, headers: Record<string, string>): Promise<void> };
}

const ANSWER = JSON.stringify({
  id: 'chatcmpl-floor',
  object: 'chat.completion',
  created: 0,
  model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'floor' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
});

export class Plugin {
  async access(kong: FloorAnswerKong): Promise<void> {
    await kong.request.getHeaders(1000);
    await kong.request.getRawBody(8 * 1024 * 1024);
    await kong.request.getPathWithQuery();
    await kong.response.exit(200, ANSWER, { 'content-type': 'application/json' });
  }
}

export const Name = 'floor-answer';
export const Version = '0.1.0';
export const Priority = 770;
export const Schema = [];
