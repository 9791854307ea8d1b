/**
 * Golden request/response pairs from Kong OSS's unit fixtures (spec/fixtures/providers/golden/<case>/case.json).
 *
 * The request is compared whole with Kong's expected request; the response is compared whole with Kong's
 * expected response, except the fields listed in case.json `differences`: there we state the value we answer
 * (`ours`) and why it is not the fixture's. Each such field is checked to really differ from the fixture, so a
 * stale entry cannot hide a regression. Among them:
 *  - bedrock-chat finish_reason: fixture 'end_turn', Kong's code (and we) map it to 'stop'.
 *  - anthropic finish_reason: Kong passes stop_reason through; we answer OpenAI's value (docs/providers.md).
 *  - bedrock-chat usage: fixture uses OpenAI key names Converse never sends; we estimate.
 *  - llama2-ollama-chat / mistral-ollama-chat usage: fixture usage copied from OpenAI's; we report Ollama's counts.
 *  - llama2-ollama-completions text and usage: fixture text is not the real response's; we return the real one.
 *  - fields Kong's expected files leave out (usage, created, model, finish_reason) that we fill in.
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
  /** Dotted path → the value we answer instead of the fixture's, and why. */
  differences?: Record<string, { ours: unknown; why: string }>;
}

/** A deep copy of `obj` with the value at the dotted `path` set (arrays indexed by number). */
function withValue(obj: unknown, path: string, value: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(obj)) as Record<string, unknown>;
  const keys = path.split('.');
  let at: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (at[k] === null || typeof at[k] !== 'object') at[k] = {};
    at = at[k] as Record<string, unknown>;
  }
  at[keys[keys.length - 1]!] = value;
  return copy;
}

for (const name of caseDirs('golden')) {
  const c = readJsonFixture<GoldenCase>(`golden/${name}/case.json`);
  const driver = DRIVERS[c.target.model.provider];
  describe(`golden ${name}`, () => {
    it('has a driver for its provider', () => {
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

    it("turns the real provider response into Kong's expected OpenAI response, whole, but for the stated differences", () => {
      const out = driver.fromResponse(200, { 'content-type': 'application/json' }, readFixture(c.response), ctx);
      let expected: unknown = readJsonFixture(c.expected_response);
      for (const [field, d] of Object.entries(c.differences ?? {})) expected = withValue(expected, field, d.ours);
      assert.deepEqual(JSON.parse(JSON.stringify(out.body)), expected);
      const body = out.body as { usage?: unknown };
      if (body.usage !== undefined) assert.deepEqual(out.usage, body.usage, 'the usage reported to analytics is the one in the body');
    });

    for (const [field, d] of Object.entries(c.differences ?? {})) {
      it(`answers ${field} differently from Kong's fixture on purpose (reason in case.json)`, () => {
        assert.notDeepEqual(pick(readJsonFixture(c.expected_response), field), d.ours, `stale difference: ${d.why}`);
      });
    }
  });
}
