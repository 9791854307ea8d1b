/**
 * Provider streams → client SSE, per case folder (spec/fixtures/providers/streams/<case>): the exact client bytes,
 * the usage and text collected for analytics, and the same output whatever the chunking (every byte boundary,
 * byte by byte). Inputs are Kong OSS fixtures or captures written from the providers' documented wire formats.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import type { TranslateContext } from '../../plugins/ai-proxy-advanced/providers/provider';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { estimatePromptTokens } from '../../plugins/ai-proxy-advanced/providers/streams/usage-estimate';
import { bytewise, caseDirs, makeCtx, readFixture, readJsonFixture, runStream, splitAt, streamInput, streamRequest, type StreamCase } from '../helpers/providers-fixtures';

interface Frame {
  usage?: unknown;
  choices?: Array<{ delta?: { content?: unknown }; text?: unknown }>;
}

/** The client frames before `[DONE]`, each parsed; throws on a frame that is not JSON. */
function frames(out: string): Frame[] {
  return out
    .split('\n\n')
    .filter((f) => f.startsWith('data: ') && f !== 'data: [DONE]')
    .map((f) => JSON.parse(f.slice(6)) as Frame);
}

/** The generated text as the client reads it: chat `delta.content` or completions `text`, in order. */
function clientText(fs: Frame[]): string {
  return fs
    .flatMap((f) => f.choices ?? [])
    .map((c) => (typeof c.delta?.content === 'string' ? c.delta.content : typeof c.text === 'string' ? c.text : ''))
    .join('');
}

for (const name of caseDirs('streams')) {
  const c = readJsonFixture<StreamCase>(`streams/${name}/case.json`);
  const driver = DRIVERS[c.target.model.provider];
  // The request the engine test sends (stream-providers.test.ts): its estimate counts where the provider reports no prompt.
  const request = streamRequest(c);
  const ctx: TranslateContext = makeCtx(c.target, { stream: true, includeUsage: c.include_usage ?? false, promptTokensEstimate: () => estimatePromptTokens(request) });
  const input = streamInput(c);
  const expected = readFixture(`streams/${name}/expected.txt`).toString('utf8');
  const make = () => {
    if (!driver?.createStreamTranslator) throw new Error(`no stream translator for ${c.target.model.provider}`);
    return driver.createStreamTranslator(ctx);
  };

  describe(`stream ${name}`, () => {
    it('writes the expected client frames, every one valid JSON, ending with [DONE]', () => {
      const { out } = runStream(make, [input]);
      assert.equal(out, expected);
      assert.ok(out.endsWith('data: [DONE]\n\n'));
      assert.equal(out.split('data: [DONE]').length, 2, 'exactly one [DONE]');
      const all = out.split('\n\n').filter((f) => f !== '');
      const parsed = frames(out);
      assert.equal(parsed.length, all.length - 1, 'every frame but [DONE] is a data frame');
      for (const f of parsed) assert.ok(f !== null && typeof f === 'object' && !Array.isArray(f), 'every frame is a JSON object');
    });

    it('writes the usage frame only when the client asked for it', () => {
      const { out } = runStream(make, [input]);
      const usageFrames = frames(out).filter((f) => f.usage !== undefined);
      assert.equal(usageFrames.length, c.include_usage ? 1 : 0);
    });

    it("reports the provider's usage (case.json expected_usage), the same in the usage frame, and the text the client got", () => {
      const { out, translator } = runStream(make, [input]);
      assert.deepEqual(translator.usage(), c.expected_usage);
      const usageFrame = frames(out).find((f) => f.usage !== undefined);
      if (c.include_usage) assert.deepEqual(usageFrame?.usage, c.expected_usage, 'the usage frame carries the same counts');
      assert.equal(translator.text(), clientText(frames(out)));
    });

    it('writes the same bytes when the input is split at any byte boundary', () => {
      for (let at = 1; at < input.length; at++) {
        assert.equal(runStream(make, splitAt(input, at)).out, expected, `split at ${at}`);
      }
    });

    it('writes the same bytes when the input arrives byte by byte', () => {
      assert.equal(runStream(make, bytewise(input)).out, expected);
    });
  });
}
