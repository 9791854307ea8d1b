/**
 * Which configs serve a native `llm_format`, decided from the config alone: at validation (Admin API,
 * `npm run validate`, plugin start) with Kong OSS ai-proxy's texts (kong/plugins/ai-proxy/schema.lua
 * entity_checks) for every target; anthropic with another provider is schema-valid (Kong's Claude Code
 * examples) and refused by name when the plugin starts. Also the pieces of each format that the gateway tests
 * cannot see: operation choice without upstream_url, forced streams, and the pass-through stream's holding.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { validateConfig } from '../../schemas';
import type { TargetConfig } from '../../schemas/config';
import { checkEngineConfig } from '../../plugins/ai-proxy-advanced/engine/config-check';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { anthropicNative } from '../../plugins/ai-proxy-advanced/providers/anthropic/native';
import { cohereNative } from '../../plugins/ai-proxy-advanced/providers/cohere/native';
import { huggingfaceNative } from '../../plugins/ai-proxy-advanced/providers/huggingface/native';
import type { StreamTranslator } from '../../plugins/ai-proxy-advanced/providers/provider';
import { createPassThroughTranslator, HOLD_LIMIT } from '../../plugins/ai-proxy-advanced/providers/streams/pass-through';
import { makeCtx } from '../helpers/providers-fixtures';

const chat = (provider: string, options: Record<string, unknown> = {}) => ({ route_type: 'llm/v1/chat', model: { provider, name: 'm', options } });

describe('llm_format at config time', () => {
  test('a native format other than anthropic is only served by its own provider, on llm/v1/chat (Kong\'s texts, per target)', () => {
    const r = validateConfig({ llm_format: 'gemini', targets: [chat('gemini'), chat('openai'), { ...chat('gemini'), route_type: 'llm/v1/embeddings' }] });
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.deepEqual(r.errors, [
        { path: 'targets[1].model.provider', message: "native llm_format 'gemini' can only be used with the 'gemini' model.provider" },
        { path: 'targets[2].route_type', message: "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type" },
      ]);
    }
    for (const format of ['bedrock', 'cohere', 'huggingface']) {
      const wrong = validateConfig({ llm_format: format, targets: [chat('openai')] });
      assert.equal(wrong.ok, false, format);
    }
  });

  test('every native format with its own provider validates and starts', () => {
    const options: Record<string, Record<string, unknown>> = { anthropic: { anthropic_version: '2023-06-01' }, bedrock: { bedrock: { aws_region: 'us-east-1' } } };
    for (const format of ['gemini', 'bedrock', 'anthropic', 'cohere', 'huggingface']) {
      const r = validateConfig({ llm_format: format, targets: [chat(format, options[format])] });
      assert.ok(r.ok, `${format}: ${JSON.stringify(!r.ok && r.errors)}`);
      if (r.ok) assert.deepEqual(checkEngineConfig(r.config), [], `${JSON.stringify(r.config.targets[0]?.model)}`);
      assert.ok(DRIVERS[format as 'gemini']?.native, `${format} has a native format`);
    }
  });

  test('anthropic with any provider validates and starts (Kong\'s Claude Code examples)', () => {
    for (const provider of ['openai', 'gemini', 'mistral', 'cohere']) {
      const r = validateConfig({ llm_format: 'anthropic', targets: [chat(provider, provider === 'mistral' ? { mistral_format: 'openai', upstream_url: 'http://m/v1/chat/completions' } : {})] });
      assert.ok(r.ok, `${provider}: ${JSON.stringify(!r.ok && r.errors)}`);
      if (r.ok) assert.deepEqual(checkEngineConfig(r.config), [], `${JSON.stringify(r.config.targets[0]?.model)}`);
    }
  });
});

function t(provider: TargetConfig['model']['provider'], options: Record<string, unknown> = {}, name = 'm'): TargetConfig {
  return { route_type: 'llm/v1/chat', model: { provider, name, options } } as TargetConfig;
}

describe('native requests', () => {
  test('cohere: v1 chat only when the client\'s path names it, else v2; nothing else of Cohere is reachable', () => {
    const body = { model: 'm', message: 'hi', chat_history: [{ role: 'CHATBOT', message: 'hello' }], preamble: 'Be brief.' };
    const v1 = cohereNative.read(body, '/cohere/v1/chat', {});
    assert.deepEqual(v1.messages, [{ role: 'system', content: 'Be brief.' }, { role: 'assistant', content: 'hello' }, { role: 'user', content: 'hi' }]);
    const url = (path: string) => cohereNative.toRequest(body, makeCtx(t('cohere'), { clientPath: path })).url;
    assert.equal(url('/cohere/v1/chat'), 'https://api.cohere.com/v1/chat');
    assert.equal(url('/cohere/v2/chat'), 'https://api.cohere.com/v2/chat');
    assert.equal(url('/cohere/v1/rerank'), 'https://api.cohere.com/v2/chat');
    assert.equal(url('/cohere/../../admin'), 'https://api.cohere.com/v2/chat');
  });

  test('anthropic and cohere: a forced stream and the target\'s model are set in a copy; otherwise the client\'s object is sent', () => {
    const body = { messages: [{ role: 'user', content: 'hi' }], max_tokens: 8 };
    const forced = anthropicNative.toRequest(body, makeCtx(t('anthropic', { anthropic_version: '2023-06-01' }, 'claude-3-5-haiku'), { stream: true }));
    assert.deepEqual(forced.body, { ...body, model: 'claude-3-5-haiku', stream: true });
    assert.equal(forced.headers['anthropic-version'], '2023-06-01');
    const asSent = { ...body, model: 'claude-3-5-haiku' };
    assert.equal(anthropicNative.toRequest(asSent, makeCtx(t('anthropic', {}, 'claude-3-5-haiku'))).body, asSent);
    assert.deepEqual(cohereNative.toRequest(body, makeCtx(t('cohere', {}, 'command-r'), { stream: true, clientPath: '/v2/chat' })).body, { ...body, model: 'command-r', stream: true });
  });

  test('huggingface: TGI /generate or /generate_stream on the driver\'s base; the model id stays in its path segments', () => {
    assert.equal(huggingfaceNative.read({ inputs: 'hi' }, '/hf/generate_stream', {}).stream, true);
    assert.equal(huggingfaceNative.read({ inputs: 'hi', stream: true }, '/hf/generate', {}).stream, true);
    assert.equal(huggingfaceNative.read({ inputs: 'hi' }, '/hf/generate', {}).stream, false);
    assert.deepEqual(huggingfaceNative.read({ parameters: {} }, '/hf/generate', {}).messages, []);
    const url = huggingfaceNative.toRequest({ inputs: 'hi' }, makeCtx(t('huggingface', {}, 'org/model'), { stream: true })).url;
    assert.equal(url, 'https://api-inference.huggingface.co/models/org/model/generate_stream');
    assert.throws(() => huggingfaceNative.toRequest({ inputs: 'hi' }, makeCtx(t('huggingface', {}, 'org/..'))), /Hugging Face model id/);
  });
});

/** A reader that makes one frame of every chunk containing `EVENT`, and throws on `BAD`. */
function reader(): StreamTranslator {
  let text = '';
  return {
    push(chunk) {
      const s = Buffer.from(chunk).toString('latin1');
      if (s.includes('BAD')) throw new Error('unreadable');
      if (!s.includes('EVENT')) return [];
      text += 'x';
      return ['data: {}\n\n'];
    },
    end: () => [],
    usage: () => ({ prompt_tokens: 1, completion_tokens: text.length, total_tokens: 1 + text.length }),
    text: () => text,
  };
}

describe('pass-through streams', () => {
  test('bytes are held until the reader made an event of them, then go out as they came, binary included', () => {
    const p = createPassThroughTranslator(reader());
    assert.equal(p.passThrough, true);
    assert.deepEqual(p.push(Buffer.from([0x00, 0xff, 0x80])), [], 'no event yet: nothing for the client, failover still possible');
    const out = p.push(Buffer.from('EVENT'));
    assert.deepEqual(Buffer.from(out.join(''), 'latin1'), Buffer.concat([Buffer.from([0x00, 0xff, 0x80]), Buffer.from('EVENT')]));
    assert.deepEqual(Buffer.from(p.push(Buffer.from([0xc3])).join(''), 'latin1'), Buffer.from([0xc3]), 'after the first event every chunk goes at once');
    assert.deepEqual(p.usage(), { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 });
  });

  test('a provider that sends HOLD_LIMIT bytes without an event has answered: they go out', () => {
    const p = createPassThroughTranslator(reader());
    assert.deepEqual(p.push(Buffer.alloc(HOLD_LIMIT - 1)), []);
    assert.equal(p.push(Buffer.alloc(1)).join('').length, HOLD_LIMIT);
  });

  test('bytes the reader cannot read still reach the client; counting stops there', () => {
    const p = createPassThroughTranslator(reader());
    p.push(Buffer.from('EVENT'));
    assert.equal(p.push(Buffer.from('BAD')).join(''), 'BAD');
    assert.equal(p.push(Buffer.from('EVENT')).join(''), 'EVENT');
    assert.equal(p.usage().completion_tokens, 1, 'what was counted before the unreadable bytes');
    assert.deepEqual(p.end(), []);
  });

  test('a stream that ends before any event is sent whole at its end', () => {
    const p = createPassThroughTranslator(reader());
    assert.deepEqual(p.push(Buffer.from('partial')), []);
    assert.deepEqual(p.end(), ['partial']);
  });
});
