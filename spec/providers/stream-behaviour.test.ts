/**
 * Stream translator edge cases: in-stream provider errors, streams cut short, data after the end, estimated usage,
 * and the OpenAI pass-through keeping the provider's own usage frame.
 */
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { describe, it } from 'node:test';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { createOpenAiSseTranslator } from '../../plugins/ai-proxy-advanced/providers/openai/stream';
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

  it('estimates usage from the text when the provider reports none, and puts it in the usage frame', () => {
    const ctx = makeCtx(target('anthropic', 'llm/v1/chat', 'claude'), { stream: true, includeUsage: true });
    const { out, translator } = runStream(() => DRIVERS.anthropic!.createStreamTranslator!(ctx), [
      enc('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"one two three"}}\n\n'),
    ]);
    assert.deepEqual(translator.usage(), { prompt_tokens: 0, completion_tokens: 3, total_tokens: 3 });
    assert.match(out, /"usage":\{"prompt_tokens":0,"completion_tokens":3,"total_tokens":3\}/);
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
