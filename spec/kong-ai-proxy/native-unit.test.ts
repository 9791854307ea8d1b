/**
 * Kong's spec/03-plugins/38-ai-proxy/12-native_unit_spec.lua ("adapters.<format> good full no stream" /
 * "... with stream"), restated for what this project reads of a native request: Kong's adapters turn the
 * native fixture into an OpenAI request (native/target/target-openai-complete*.json); here the native body is
 * never translated (it goes to the provider as sent), so the format reads only what the engine checks: the
 * model and stream flag from Kong's mocked paths, and the messages' roles and text, which must be Kong's.
 * Kong's mocked named URI captures (`model`, `operation`) are passed as Kong's test mocks them.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bedrockNative } from '../../plugins/ai-proxy-advanced/providers/bedrock/native';
import { geminiNative } from '../../plugins/ai-proxy-advanced/providers/gemini/native';
import type { NativeFormat } from '../../plugins/ai-proxy-advanced/providers/provider';
import { readJsonFixture } from '../helpers/providers-fixtures';

interface KongMessage {
  role: string;
  content?: string | Array<{ text?: string }>;
}

const CASES: Record<string, { format: NativeFormat; model: string; paths: [string, string]; operations: [string, string] }> = {
  bedrock: {
    format: bedrockNative,
    model: 'cohere.command-r-v1:0',
    paths: ['/bedrock/model/cohere.command-r-v1%3A0/converse', '/bedrock/model/cohere.command-r-v1%3A0/converse-stream'],
    operations: ['converse', 'converse-stream'],
  },
  gemini: {
    format: geminiNative,
    model: 'gemini-1.5-pro',
    paths: [
      '/v1/projects/fake-project-010101/locations/us-central1/publishers/google/models/gemini-1.5-pro:generateContent',
      '/v1/projects/fake-project-010101/locations/us-central1/publishers/google/models/gemini-1.5-pro:streamGenerateContent',
    ],
    operations: ['generateContent', 'streamGenerateContent'],
  },
};

/** Kong's expected messages as role and text (tool results carry JSON, which the engine does not read). */
function kongView(file: string): Array<{ role: string; text: string }> {
  const t = readJsonFixture<{ messages: KongMessage[] }>(file);
  return t.messages.map((m) => ({ role: m.role, text: m.role === 'tool' ? '' : Array.isArray(m.content) ? m.content.map((p) => p.text ?? '').join('') : (m.content ?? '') }));
}

describe('12-native_unit_spec.lua', () => {
  for (const [name, c] of Object.entries(CASES)) {
    const body = readJsonFixture<Record<string, unknown>>(`kong-oss/native/${name}/request/with-functions-and-chatter.json`);
    test(`adapters.${name} good full no stream`, () => {
      // Kong's MOCK_KONG: the path and the named captures agree.
      const view = c.format.read(body, c.paths[0], { model: c.model, operation: c.operations[0] });
      assert.equal(view.model, c.model);
      assert.equal(view.stream, false);
      assert.deepEqual(view.messages.map((m) => ({ role: m.role, text: m.content })), kongView('kong-oss/native/target/target-openai-complete.json'));
    });
    test(`adapters.${name} good full with stream`, () => {
      const view = c.format.read(body, c.paths[1], { model: c.model, operation: c.operations[1] });
      assert.equal(view.model, c.model);
      assert.equal(view.stream, true);
      assert.deepEqual(view.messages.map((m) => ({ role: m.role, text: m.content })), kongView('kong-oss/native/target/target-openai-complete-stream.json'));
    });
    test(`adapters.${name}: the route's named captures come before the path, the path fills what they lack`, () => {
      const captured = c.format.read(body, c.paths[0], { model: 'captured-model', operation: c.operations[1] });
      assert.deepEqual([captured.model, captured.stream], ['captured-model', true]);
      const partly = c.format.read(body, c.paths[1], { model: 'captured-model' });
      assert.deepEqual([partly.model, partly.stream], [c.model, true], 'without both captures, the path gives both');
      const none = c.format.read(body, '/chat', {});
      assert.deepEqual([none.model, none.stream], [undefined, false], "no path shape: the config's model, no stream");
    });
  }
});
