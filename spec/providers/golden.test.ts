/**
 * Golden request/response pairs from Kong OSS's unit fixtures (spec/fixtures/providers/golden/<case>/case.json).
 *
 * Pairs we deliberately answer differently (each also listed in its case.json `differences`, checked below):
 *  - bedrock-chat finish_reason: fixture 'end_turn', Kong's code (and we) map it to 'stop'.
 *  - bedrock-chat usage: fixture uses OpenAI key names Converse never sends; we estimate.
 *  - llama2-ollama-chat / mistral-ollama-chat usage: fixture usage copied from OpenAI's; we report Ollama's counts.
 *  - llama2-ollama-completions text and usage: fixture text is not the real response's; we return the real one.
 * The openai/azure pairs in the same folder belong to the engine's OpenAI-compatible drivers, not to #6.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { caseDirs, makeCtx, pick, readFixture, readJsonFixture } from '../helpers/providers-fixtures';

interface GoldenCase {
  target: TargetConfig;
  request: string;
  expected_request: string;
  expected_url: string;
  response: string;
  expected_response: string;
  compare: string[];
  differences?: Record<string, string>;
}

for (const name of caseDirs('golden')) {
  const c = readJsonFixture<GoldenCase>(`golden/${name}/case.json`);
  const driver = DRIVERS[c.target.model.provider];
  describe(`golden ${name}`, () => {
    it('has a translated driver for its provider', () => {
      assert.ok(driver, `no driver for ${c.target.model.provider}`);
    });
    if (!driver) return;
    const ctx = makeCtx(c.target);

    it('turns the OpenAI request into exactly the provider body Kong sends, at the provider URL', () => {
      const req = driver.toRequest(readJsonFixture(c.request), ctx);
      assert.deepEqual(JSON.parse(JSON.stringify(req.body)), readJsonFixture(c.expected_request));
      assert.equal(req.url, c.expected_url);
      assert.equal(req.method, 'POST');
      assert.equal(req.headers['content-type'], 'application/json');
    });

    it('turns the real provider response into the expected OpenAI response fields', () => {
      const out = driver.fromResponse(200, { 'content-type': 'application/json' }, readFixture(c.response), ctx);
      const expected = readJsonFixture(c.expected_response);
      for (const field of c.compare) assert.deepEqual(pick(out.body, field), pick(expected, field), `field ${field}`);
      const u = out.usage;
      assert.equal(u.total_tokens, u.prompt_tokens + u.completion_tokens, 'usage adds up');
    });

    for (const [field, why] of Object.entries(c.differences ?? {})) {
      it(`answers ${field} differently from the fixture on purpose (reason in case.json)`, () => {
        const out = driver.fromResponse(200, {}, readFixture(c.response), ctx);
        assert.notDeepEqual(pick(out.body, field), pick(readJsonFixture(c.expected_response), field), why);
      });
    }
  });
}
