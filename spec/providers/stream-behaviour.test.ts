/**
 * Stream translator edge cases: in-stream provider errors, streams cut short, data after the end, estimated usage,
 * and the OpenAI pass-through keeping the provider's own usage frame.
 */
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { createOpenAiSseTranslator } from '../../plugins/ai-proxy-advanced/providers/openai/stream';
import { estimateCompletionTokens, estimatePromptTokens } from '../../plugins/ai-proxy-advanced/providers/streams/usage-estimate';
import { makeCtx, runStream, target } from '../helpers/providers-fixtures';

const enc = (s: string): Buffer => Buffer.from(s);

/** One AWS event-stream message with string headers, CRCs included. */
function awsMessage(headers: Record<string, string>, body: string): Buffer {
  const hs = Buffer.concat(Object.entries(headers).map(([k, v]) => {
    const name = Buffer.from(k);
    const val = Buffer.from(v);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(val.length);
    return Buffer.concat([Buffer.from([name.length]), name, Buffer.from([7]), len, val]);
  }));
  const payload = Buffer.from(body);
  const total = 12 + hs.length + payload.length + 4;
  const prelude = Buffer.alloc(8);
  prelude.writeUInt32BE(total, 0);
  prelude.writeUInt32BE(hs.length, 4);
  const pcrc = Buffer.alloc(4);
  pcrc.writeUInt32BE(crc32(prelude));
  const head = Buffer.concat([prelude, pcrc, hs, payload]);
  const mcrc = Buffer.alloc(4);
  mcrc.writeUInt32BE(crc32(head));
  return Buffer.concat([head, mcrc]);
}

describe('stream edge cases', () => {
  const anthropic = makeCtx(target('anthropic', 'llm/v1/chat', 'claude'), { stream: true });

  it('turns an Anthropic error event into one OpenAI error frame followed by [DONE]', () => {
    const { out } = runStream(() => DRIVERS.anthropic!.createStreamTranslator!(anthropic), [
      enc('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n'),
    ]);
    assert.equal(out, 'data: {"error":{"message":"Overloaded","type":"overloaded_error"}}\n\ndata: [DONE]\n\n');
  });

  it('ends a stream cut short with exactly one [DONE] and ignores bytes after the end', () => {
    const make = () => DRIVERS.anthropic!.createStreamTranslator!(anthropic);
    const cut = runStream(make, [enc('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"Hi"}}\n\n')]);
    assert.ok(cut.out.endsWith('data: [DONE]\n\n'));
    assert.equal(cut.translator.text(), 'Hi');
    const t = make();
    t.push(enc('event: message_stop\ndata: {"type":"message_stop"}\n\n'));
    assert.deepEqual(t.push(enc('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"late"}}\n\n')), []);
    assert.deepEqual(t.end(), []);
  });

  it('estimates usage as Kong when the provider reports none (request words x 1.8, text bytes / 4), also in the usage frame', () => {
    const request = { messages: [{ role: 'user', content: 'What is 1 + 1?' }] };
    const ctx = makeCtx(target('anthropic', 'llm/v1/chat', 'claude'), { stream: true, includeUsage: true, promptTokensEstimate: () => estimatePromptTokens(request) });
    const { out, translator } = runStream(() => DRIVERS.anthropic!.createStreamTranslator!(ctx), [
      enc('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":" one two three\\n"}}\n\n'),
    ]);
    // 5 words x 1.8 = 9; "one two three" without its surrounding whitespace is 13 bytes: 4 tokens.
    assert.deepEqual(translator.usage(), { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 });
    assert.match(out, /"usage":\{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13\}/);
  });

  it('keeps each count the provider reported and estimates only the missing one', () => {
    let asked = 0;
    const ctx = makeCtx(target('anthropic', 'llm/v1/chat', 'claude'), { stream: true, promptTokensEstimate: () => ++asked });
    const { translator } = runStream(() => DRIVERS.anthropic!.createStreamTranslator!(ctx), [
      enc('event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":15}}}\n\n'),
      enc('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"abcde"}}\n\n'),
    ]);
    assert.deepEqual(translator.usage(), { prompt_tokens: 15, completion_tokens: 2, total_tokens: 17 });
    assert.equal(asked, 0, 'the request is not counted when the provider reported its prompt');
  });

  it('the last finish_reason the client got, translated or passed through', () => {
    const anthropic = runStream(() => DRIVERS.anthropic!.createStreamTranslator!(makeCtx(target('anthropic', 'llm/v1/chat', 'claude'), { stream: true })), [
      enc('event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"max_tokens"}}\n\n'),
    ]);
    assert.equal(anthropic.translator.finishReason?.(), 'length');
    const openai = runStream(() => createOpenAiSseTranslator(makeCtx(target('openai', 'llm/v1/chat', 'gpt-4o'), { stream: true })), [
      enc('data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\ndata: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'),
    ]);
    assert.equal(openai.translator.finishReason?.(), 'stop');
  });

  it('turns a Bedrock exception message into an error frame', () => {
    const ctx = makeCtx(target('bedrock', 'llm/v1/chat', 'm'), { stream: true });
    const msg = awsMessage({ ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' }, '{"message":"Too many requests"}');
    const { out } = runStream(() => DRIVERS.bedrock!.createStreamTranslator!(ctx), [msg]);
    assert.equal(out, 'data: {"error":{"message":"Too many requests","type":"throttlingException"}}\n\ndata: [DONE]\n\n');
  });

  it('passes OpenAI chunks through and does not add a second usage frame when the provider sent one', () => {
    const ctx = makeCtx(target('mistral', 'llm/v1/chat', 'm', { mistral_format: 'openai' }), { stream: true, includeUsage: true });
    const input = 'data: {"choices":[{"index":0,"delta":{"content":"a b"}}]}\n\n' +
      'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":2,"total_tokens":6}}\n\ndata: [DONE]\n\n';
    const { out, translator } = runStream(() => createOpenAiSseTranslator(ctx), [enc(input)]);
    assert.equal(out, input);
    assert.deepEqual(translator.usage(), { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 });
    assert.equal(translator.text(), 'a b');
  });
});

describe("Kong's stream usage estimates (shared.lua calculate_cost x 1.8, normalize-sse-chunk.lua #strip(text) / 4)", () => {
  it('prompt: words of string contents and text parts, x 1.8 rounded up; token ids of a prompt count 1 each', () => {
    // Kong's 09-streaming good-stream.json: 10 words, Kong's expected 18.
    assert.equal(estimatePromptTokens({ messages: [{ role: 'system', content: 'You are a helpful assistant.' }, { role: 'user', content: 'What is 1 + 1?' }] }), 18);
    assert.equal(estimatePromptTokens({ messages: [{ role: 'user', content: [{ type: 'text', text: 'two words' }, { type: 'image_url', image_url: { url: 'x y z' } }] }] }), 4);
    assert.equal(estimatePromptTokens({ prompt: 'one two three four five six seven' }), 13);
    assert.equal(estimatePromptTokens({ prompt: ['one two', 7, [1, 2, 3]] }), 4 + 1 + 3);
    assert.equal(estimatePromptTokens({ input: 'not a prompt' }), 0);
    assert.equal(estimatePromptTokens({ messages: [null, { content: 5 }, { content: [{ type: 'text', text: 5 }] }] }), 0);
  });

  it('completion: UTF-8 bytes without surrounding ASCII whitespace, / 4 rounded up', () => {
    assert.equal(estimateCompletionTokens('The answer to 1 + 1 is 2.'), 7);
    assert.equal(estimateCompletionTokens(' \t\n\r\v\f'), 0);
    assert.equal(estimateCompletionTokens('\u00e9t\u00e9'), 2, '5 bytes');
    assert.equal(estimateCompletionTokens('\u00a0abc'), 2, 'a no-break space is not stripped (Kong strips ASCII whitespace only)');
  });
});
