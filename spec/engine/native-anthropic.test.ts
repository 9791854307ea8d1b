/**
 * `llm_format: anthropic` on targets of other providers (Kong's Claude Code examples): an Anthropic Messages
 * client in front of OpenAI and Gemini targets, and failover from an Anthropic target (passed through) to an
 * OpenAI one (translated), through the real gateway; and the translation itself against Anthropic's documented
 * shapes (requests with tools and tool results, answers with tool calls, the stream's event sequence).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { anthropicMessageOf, createMessagesStream, openAiRequestOf } from '../../plugins/ai-proxy-advanced/providers/anthropic/messages-format';
import { createOpenAiSseTranslator } from '../../plugins/ai-proxy-advanced/providers/openai/stream';
import { eventually } from '../helpers/gateway-harness';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { chatCompletion, EngineUpstream, openAiChatStream, type RecordedRequest } from '../helpers/engine-upstream';
import { makeCtx, readFixture, target } from '../helpers/providers-fixtures';

/** Log entries come after the answer (the log phase, a file write): up to 10 s on a loaded machine. */
const LOG_TRIES = 500;

/** What Claude Code sends (trimmed): system blocks, a tool round trip, client and server tools. */
const CLAUDE_REQUEST = {
  model: 'gpt-4o-mini',
  max_tokens: 512,
  system: [{ type: 'text', text: 'You are Claude Code.' }, { type: 'text', text: ' Be brief.', cache_control: { type: 'ephemeral' } }],
  messages: [
    { role: 'user', content: 'List the files.' },
    { role: 'assistant', content: [{ type: 'thinking', thinking: '...', signature: 's' }, { type: 'text', text: 'Listing.' }, { type: 'tool_use', id: 'toolu_1', name: 'Bash', input: { command: 'ls' } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a.txt\nb.txt' }] }, { type: 'text', text: 'Which is newer?' }] },
  ],
  tools: [
    { name: 'Bash', description: 'Run a command', input_schema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } },
    { type: 'web_search_20250305', name: 'web_search', max_uses: 5 },
  ],
  tool_choice: { type: 'any' },
  stop_sequences: ['\n\nHuman:'],
  temperature: 0.2,
};

describe('Anthropic Messages ⇄ OpenAI chat', () => {
  test('a Claude Code request becomes the OpenAI request every driver translates', () => {
    assert.deepEqual(openAiRequestOf({ ...CLAUDE_REQUEST, stream: true }), {
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'You are Claude Code. Be brief.' },
        { role: 'user', content: 'List the files.' },
        { role: 'assistant', content: 'Listing.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'Bash', arguments: '{"command":"ls"}' } }] },
        { role: 'tool', tool_call_id: 'toolu_1', content: 'a.txt\nb.txt' },
        { role: 'user', content: 'Which is newer?' },
      ],
      max_tokens: 512,
      temperature: 0.2,
      stop: ['\n\nHuman:'],
      tools: [{ type: 'function', function: { name: 'Bash', description: 'Run a command', parameters: CLAUDE_REQUEST.tools[0]!.input_schema } }],
      tool_choice: 'required',
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  test('images and bad roles', () => {
    const r = openAiRequestOf({ messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAA' } }, { type: 'text', text: 'what?' }] }] });
    assert.deepEqual((r.messages as unknown[])[0], { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAA' } }, { type: 'text', text: 'what?' }] });
    assert.throws(() => openAiRequestOf({ messages: [{ role: 'system', content: 'x' }] }), /messages\.0\.role/);
    assert.throws(() => openAiRequestOf({}), /messages: field required/);
  });

  test('tool_choice, URL images, unknown blocks, and message shapes Anthropic allows', () => {
    const tools = [{ name: 'f', input_schema: { type: 'object' } }];
    const choice = (tool_choice: unknown) => openAiRequestOf({ messages: [{ role: 'user', content: 'x' }], tools, tool_choice }).tool_choice;
    assert.equal(choice({ type: 'auto' }), 'auto');
    assert.equal(choice({ type: 'none' }), 'none');
    assert.deepEqual(choice({ type: 'tool', name: 'f' }), { type: 'function', function: { name: 'f' } });
    assert.equal(choice({ type: 'tool' }), undefined);
    assert.equal(choice('auto'), undefined);
    const noTools = openAiRequestOf({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'bash_20250124', name: 'bash' }], tool_choice: { type: 'any' } });
    assert.equal(noTools.tools, undefined, 'server tools only: no tools, no tool_choice');
    assert.equal(noTools.tool_choice, undefined);
    const r = openAiRequestOf({
      messages: [
        { role: 'user', content: [{ type: 'image', source: { type: 'url', url: 'https://x/a.png' } }, { type: 'image', source: { type: 'file' } }, { type: 'document' }, 7] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'only thoughts' }] },
        { role: 'assistant', content: [{ type: 'tool_use', name: 'f' }] },
      ],
    });
    assert.deepEqual(r.messages, [
      { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/a.png' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_2_0', type: 'function', function: { name: 'f', arguments: '{}' } }] },
    ]);
    assert.throws(() => openAiRequestOf({ messages: [{ role: 'user', content: 5 }] }), /messages\.0\.content/);
    assert.throws(() => openAiRequestOf({ messages: ['x'] }), /messages\.0 must be an object/);
  });

  test('answers without choices, with bad tool arguments, or cut short map to Anthropic stop reasons', () => {
    const u = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    assert.deepEqual(anthropicMessageOf({}, 'm', u).content, []);
    assert.equal(anthropicMessageOf({ choices: [{ finish_reason: 'length', message: { content: 'a' } }] }, 'm', u).stop_reason, 'max_tokens');
    assert.equal(anthropicMessageOf({ choices: [{ finish_reason: 'content_filter', message: {} }] }, 'm', u).stop_reason, 'refusal');
    assert.equal(anthropicMessageOf({ choices: [{ finish_reason: 'constructor', message: {} }] }, 'm', u).stop_reason, 'end_turn');
    const bad = anthropicMessageOf({ choices: [{ message: { tool_calls: [{ function: { name: 'f', arguments: '{not json' } }, 'x'] } }] }, 'm', u);
    assert.deepEqual(bad.content, [{ type: 'tool_use', id: 'toolu_0', name: 'f', input: {} }]);
  });

  test('a provider error in the stream becomes an Anthropic error event; a stream cut without [DONE] still ends the message', () => {
    const ctx = makeCtx(target('openai', 'llm/v1/chat', 'm'), { stream: true, includeUsage: true });
    const s = createMessagesStream(createOpenAiSseTranslator(ctx), 'm');
    const out = [
      ...s.push(Buffer.from('data: {"error":{"message":"rate limited","type":"rate_limit_error"}}\n\n')),
      ...s.push(Buffer.from('data: not json\n\n')),
      ...s.end(),
    ].join('');
    assert.match(out, /^event: message_start\n/);
    assert.match(out, /event: error\ndata: \{"type":"error","error":\{"type":"rate_limit_error","message":"rate limited"\}\}/);
    assert.match(out, /event: message_stop\n[^]*$/);
  });

  test('an OpenAI answer with a tool call becomes an Anthropic message with a tool_use block', () => {
    const msg = anthropicMessageOf(
      { id: 'chatcmpl-1', choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'Bash', arguments: '{"command":"ls -t"}' } }] } }] },
      'gpt-4o-mini',
      { prompt_tokens: 30, completion_tokens: 9, total_tokens: 39 },
    );
    assert.deepEqual(msg, {
      id: 'chatcmpl-1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-4o-mini',
      content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'call_1', name: 'Bash', input: { command: 'ls -t' } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 30, output_tokens: 9 },
    });
  });

  test('an OpenAI stream becomes Anthropic\'s event sequence: text block, tool_use block with JSON deltas, stop reason, usage', () => {
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'chatcmpl-s', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const frames = [
      chunk({ role: 'assistant', content: '' }),
      chunk({ content: 'Let me ' }),
      chunk({ content: 'check.' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'Bash', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"command":' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }),
      chunk({}, 'tool_calls'),
      `data: ${JSON.stringify({ id: 'chatcmpl-s', choices: [], usage: { prompt_tokens: 40, completion_tokens: 12, total_tokens: 52 } })}\n\n`,
      'data: [DONE]\n\n',
    ];
    const ctx = makeCtx(target('openai', 'llm/v1/chat', 'gpt-4o-mini'), { stream: true, includeUsage: true });
    const s = createMessagesStream(createOpenAiSseTranslator(ctx), 'gpt-4o-mini');
    const out = [...frames.flatMap((f) => s.push(Buffer.from(f))), ...s.end()].join('');
    const events = out.split('\n\n').filter(Boolean).map((e) => {
      const [name, data] = e.split('\n');
      return { name: name!.slice(7), data: JSON.parse(data!.slice(6)) as Record<string, unknown> };
    });
    assert.deepEqual(events.map((e) => e.name), [
      'message_start',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'content_block_start', 'content_block_delta', 'content_block_delta', 'content_block_stop',
      'message_delta', 'message_stop',
    ]);
    for (const e of events) assert.equal(e.data.type, e.name, 'each event\'s data names its type');
    assert.deepEqual(events[5]!.data.content_block, { type: 'tool_use', id: 'call_9', name: 'Bash', input: {} });
    assert.equal(events.slice(6, 8).map((e) => (e.data.delta as { partial_json: string }).partial_json).join(''), '{"command":"ls"}');
    assert.deepEqual(events[9]!.data, { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 40, output_tokens: 12 } });
    assert.equal(s.text(), 'Let me check.');
  });
});

let openai: EngineUpstream;
let anthropic: EngineUpstream;
let gemini: EngineUpstream;
let gw: EngineGateway;
const stats = { log_statistics: true, log_payloads: false };

function openaiTarget(weight = 100): TargetConfig {
  return { route_type: 'llm/v1/chat', weight, logging: stats, model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: `${openai.url}/v1/chat/completions` } }, auth: { header_name: 'Authorization', header_value: 'Bearer sk-openai' } };
}

before(async () => {
  [openai, anthropic, gemini] = await Promise.all([EngineUpstream.start(), EngineUpstream.start(), EngineUpstream.start()]);
  gw = await startEngineGateway([
    { path: '/claude-openai', config: { llm_format: 'anthropic', targets: [openaiTarget()] } },
    {
      path: '/claude-gemini',
      config: {
        llm_format: 'anthropic',
        targets: [{ route_type: 'llm/v1/chat', logging: stats, model: { provider: 'gemini', name: 'gemini-1.5-flash', options: { gemini: { api_endpoint: gemini.url, project_id: 'p', location_id: 'l' } } }, auth: { header_name: 'x-goog-api-key', header_value: 'k' } }],
      },
    },
    {
      path: '/claude-failover',
      config: {
        llm_format: 'anthropic',
        balancer: { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] },
        targets: [
          { route_type: 'llm/v1/chat', weight: 100, logging: stats, model: { provider: 'anthropic', name: 'gpt-4o-mini', options: { anthropic_version: '2023-06-01', upstream_url: `${anthropic.url}/v1/messages` } }, auth: { header_name: 'x-api-key', header_value: 'sk-ant' } },
          openaiTarget(50),
        ],
      },
    },
  ]);
});
after(async () => {
  await gw?.close();
  await Promise.all([openai, anthropic, gemini].map((u) => u?.close()));
});
beforeEach(() => {
  for (const u of [openai, anthropic, gemini]) u.requests.length = 0;
  openai.set((r: RecordedRequest) => (r.json?.stream === true ? { kind: 'stream', frames: openAiChatStream('gpt-4o-mini', ['One', ' plus', ' one', ' is', ' two.']) } : { kind: 'json', body: chatCompletion('gpt-4o-mini') }));
  gemini.set({ kind: 'raw', status: 200, body: readFixture('kong-oss/gemini/llm-v1-chat/responses/good.json').toString(), headers: { 'content-type': 'application/json' } });
});

async function messages(route: string, body: Record<string, unknown>): Promise<{ status: number; type: string | null; text: string }> {
  const r = await fetch(`${gw.proxy}${route}/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': 'client-key' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
}

const ask = { model: 'gpt-4o-mini', max_tokens: 64, messages: [{ role: 'user', content: 'What is 1 + 1?' }] };

describe('llm_format: anthropic on other providers, through the gateway', () => {
  test('OpenAI target, buffered: an Anthropic message back, the provider got OpenAI chat with its own key', async () => {
    const r = await messages('/claude-openai', ask);
    assert.equal(r.status, 200, r.text);
    assert.match(r.type ?? '', /^application\/json/);
    const msg = JSON.parse(r.text) as Record<string, unknown>;
    assert.deepEqual(msg.content, [{ type: 'text', text: 'The sum of 1 + 1 is 2.' }]);
    assert.equal(msg.type, 'message');
    assert.equal(msg.stop_reason, 'end_turn');
    assert.deepEqual(msg.usage, { input_tokens: 25, output_tokens: 12 });
    const sent = openai.requests[0]!;
    assert.equal(sent.url, '/v1/chat/completions');
    assert.deepEqual(sent.json?.messages, [{ role: 'user', content: 'What is 1 + 1?' }]);
    assert.equal(sent.headers.authorization, 'Bearer sk-openai');
    const log = await eventually(() => gw.serialized('/claude-openai')[0], LOG_TRIES);
    const usage = (log.ai as { proxy: { usage: Record<string, number> } }).proxy.usage;
    assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [25, 12]);
  });

  test('OpenAI target, streamed: Anthropic events, text deltas, usage in message_delta', async () => {
    const r = await messages('/claude-openai', { ...ask, stream: true });
    assert.equal(r.status, 200, r.text);
    assert.match(r.type ?? '', /^text\/event-stream/);
    const events = r.text.split('\n\n').filter(Boolean).map((e) => JSON.parse(e.split('\n')[1]!.slice(6)) as Record<string, any>);
    assert.equal(events[0]!.type, 'message_start');
    assert.equal(events.filter((e) => e.type === 'content_block_delta').map((e) => e.delta.text).join(''), 'One plus one is two.');
    assert.deepEqual(events.at(-2), { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { input_tokens: 9, output_tokens: 5 } });
    assert.equal(events.at(-1)!.type, 'message_stop');
    assert.deepEqual(openai.requests[0]!.json?.stream_options, { include_usage: true });
  });

  test('Gemini target: the request is translated to Gemini, the answer back to Anthropic', async () => {
    const r = await messages('/claude-gemini', { ...ask, model: 'gemini-1.5-flash', system: 'Be brief.' });
    assert.equal(r.status, 200, r.text);
    const msg = JSON.parse(r.text) as Record<string, unknown>;
    assert.deepEqual(msg.content, [{ type: 'text', text: 'Everything is okay.' }]);
    assert.deepEqual(msg.usage, { input_tokens: 2, output_tokens: 11 });
    const sent = gemini.requests[0]!;
    assert.match(sent.url, /\/models\/gemini-1\.5-flash:generateContent$/);
    assert.ok(Array.isArray(sent.json?.contents), 'Gemini contents');
  });

  test('failover from an Anthropic target (passed through) to an OpenAI one (translated): the client still gets Anthropic', async () => {
    anthropic.set({ kind: 'json', status: 500, body: { type: 'error', error: { type: 'api_error', message: 'overloaded' } } });
    const r = await messages('/claude-failover', ask);
    assert.equal(r.status, 200, r.text);
    assert.equal(anthropic.requests.length, 1);
    assert.deepEqual(anthropic.requests[0]!.json, ask, 'the Anthropic target got the body as sent');
    assert.equal(openai.requests.length, 1);
    const msg = JSON.parse(r.text) as Record<string, unknown>;
    assert.equal(msg.type, 'message');
    assert.deepEqual(msg.content, [{ type: 'text', text: 'The sum of 1 + 1 is 2.' }]);
  });
});
