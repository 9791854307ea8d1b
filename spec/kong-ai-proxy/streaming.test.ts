/**
 * Kong's spec/03-plugins/38-ai-proxy/09-streaming_integration_spec.lua, restated against the local gateway: the
 * mock provider streams the events of Kong's mock locations, the client counts `data:` lines and joins the
 * delta text as Kong's test does. Every chunk Kong sends is ours, one for one; the one more we send is OpenAI's
 * finish chunk (`finish_reason` mapped to OpenAI's value), a deliberate difference (docs/providers.md
 * "finish_reason").
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type Behaviour } from '../helpers/engine-upstream';

/** Kong's "/anthropic/llm/v1/chat/good" location: event names and data, as its mock sends them. */
const ANTHROPIC_EVENTS: Array<[string, unknown]> = [
  ['message_start', { type: 'message_start', message: { id: 'msg_013NVLwA2ypoPDJAxqC3G7wg', type: 'message', role: 'assistant', model: 'claude-2.1', stop_sequence: null, usage: { input_tokens: 15, output_tokens: 1 }, content: [], stop_reason: null } }],
  ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
  ['ping', { type: 'ping' }],
  ...['1', ' +', ' 1', ' =', ' 2'].map((text): [string, unknown] => ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }]),
  ['content_block_stop', { type: 'content_block_stop', index: 0 }],
  ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 9 } }],
  ['message_stop', { type: 'message_stop' }],
];

/** Kong's "/cohere/llm/v1/chat/good" location: NDJSON-ish events, some sent together in one write. */
const COHERE_WORDS = ['1', ' +', ' 1', ' =', ' 2', '.', ' This', ' is', ' the', ' most', ' basic', ' example', ' of', ' addition', '.'];
const COHERE_EVENTS: unknown[] = [
  { is_finished: false, event_type: 'stream-start', generation_id: '3f41d0ea-0d9c-4ecd-990a-88ba46ede663' },
  ...COHERE_WORDS.map((text) => ({ is_finished: false, event_type: 'text-generation', text })),
  {
    is_finished: true,
    event_type: 'stream-end',
    response: { response_id: '4658c450', text: COHERE_WORDS.join(''), generation_id: '3f41d0ea-0d9c-4ecd-990a-88ba46ede663', meta: { billed_units: { input_tokens: 57, output_tokens: 123 } } },
    finish_reason: 'COMPLETE',
  },
];

let up: EngineUpstream;
let gw: EngineGateway;

function target(provider: 'anthropic' | 'cohere', name: string, path: string): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider, name, options: { upstream_url: `${up.url}${path}`, ...(provider === 'anthropic' ? { anthropic_version: '2023-06-01' } : {}) } },
    auth: provider === 'anthropic' ? { header_name: 'x-api-key', header_value: 'anthropic-key' } : { header_name: 'Authorization', header_value: 'Bearer cohere-key' },
  };
}

before(async () => {
  up = await EngineUpstream.start((req): Behaviour => {
    if (req.url.startsWith('/anthropic')) {
      return { kind: 'stream', frames: ANTHROPIC_EVENTS.map(([event, data]) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) };
    }
    // As Kong's mock: `%s\n\n` per write, with several events in some writes.
    const lines = COHERE_EVENTS.map((e) => JSON.stringify(e));
    return { kind: 'stream', frames: [lines.slice(0, 7).join('\n\n') + '\n\n', ...lines.slice(7).map((l) => `${l}\n\n`)] };
  });
  gw = await startEngineGateway([
    { path: '/anthropic/llm/v1/chat/good', config: { targets: [target('anthropic', 'claude-2.1', '/anthropic/v1/messages')] } },
    { path: '/cohere/llm/v1/chat/good', config: { targets: [target('cohere', 'command', '/cohere/v1/chat')] } },
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

/** What Kong's test reads: every non-empty line, and the joined `choices[1].delta.content`. */
async function streamed(path: string): Promise<{ status: number; events: string[]; text: string; finish: unknown[] }> {
  const r = await fetch(`${gw.proxy}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }], stream: true }),
    signal: AbortSignal.timeout(10_000),
  });
  const body = await r.text();
  const events = body.split(/[\r\n]+/).filter((l) => l !== '');
  let text = '';
  const finish: unknown[] = [];
  for (const e of events) {
    const data = e.slice(6);
    if (data === '[DONE]') continue;
    const choice = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: string }; finish_reason?: unknown }> }).choices?.[0];
    text += choice?.delta?.content ?? '';
    if (choice?.finish_reason != null) finish.push(choice.finish_reason);
  }
  return { status: r.status, events, text, finish };
}

describe('09-streaming_integration_spec.lua', () => {
  test('"good stream request anthropic": Kong\'s 8 events plus OpenAI\'s finish chunk, text "1 + 1 = 2"', async () => {
    const r = await streamed('/anthropic/llm/v1/chat/good');
    assert.equal(r.status, 200);
    assert.equal(r.text, '1 + 1 = 2');
    assert.equal(r.events.length, 8 + 1, r.events.join('\n'));
    assert.deepEqual(r.finish, ['stop'], 'end_turn answered as OpenAI\'s "stop", once, in the extra chunk');
    assert.equal(r.events.at(-1), 'data: [DONE]');
  });

  test('"good stream request cohere": Kong\'s 17 events plus OpenAI\'s finish chunk', async () => {
    const r = await streamed('/cohere/llm/v1/chat/good');
    assert.equal(r.status, 200);
    assert.equal(r.text, '1 + 1 = 2. This is the most basic example of addition.');
    assert.equal(r.events.length, 17 + 1, r.events.join('\n'));
    assert.deepEqual(r.finish, ['stop']);
  });
});
