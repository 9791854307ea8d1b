/**
 * The stream's generated text is tallied as it arrives (providers/streams/streamed-text.ts): its counts must not
 * depend on where the provider's chunks split the text, and only MAX_KEPT_TEXT characters of it are kept.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { MAX_KEPT_TEXT, StreamedText } from '../../plugins/ai-proxy-advanced/providers/streams/streamed-text';
import { countWords } from '../../plugins/ai-proxy-advanced/providers/translator-kit/response';

/** Text rich in what the counts care about: ASCII and Unicode whitespace, multi-byte and astral characters. */
const pieces = fc.array(fc.constantFrom(' ', '\t', '\n', '\r', '\v', '\f', '\u00a0', '\u3000', 'a', 'Z', '1', '.', '\u00e9', '\u4e2d', '\u{1f600}', 'word '), { maxLength: 60 });

function tally(parts: readonly string[]): StreamedText {
  const t = new StreamedText();
  for (const p of parts) t.push(p);
  return t;
}

/** Kong's completion estimate written out directly over the whole text (usage-estimate.ts's definition). */
function wholeEstimate(text: string): number {
  const stripped = text.replace(/^[ \t\n\v\f\r]+/, '').replace(/[ \t\n\v\f\r]+$/, '');
  return Math.ceil(Buffer.byteLength(stripped, 'utf8') / 4);
}

test('the running counts equal the whole-text counts however the text is split', () => {
  fc.assert(
    fc.property(pieces, fc.array(fc.nat(), { maxLength: 10 }), (chars, cuts) => {
      const text = chars.join('');
      // Sorted cut points between characters (a provider's JSON string deltas carry whole characters).
      const between = (c: number): number => (/[\udc00-\udfff]/.test(text.charAt(c)) ? c + 1 : c);
      const at = [...new Set(cuts.map((c) => (text.length === 0 ? 0 : between(c % (text.length + 1)))))].sort((a, b) => a - b);
      const parts: string[] = [];
      let last = 0;
      for (const c of at) {
        parts.push(text.slice(last, c));
        last = c;
      }
      parts.push(text.slice(last));
      const whole = tally([text]);
      const split = tally(parts);
      assert.equal(split.text(), text);
      assert.equal(split.wordCount(), countWords(text));
      assert.equal(whole.wordCount(), countWords(text));
      assert.equal(split.completionTokensEstimate(), wholeEstimate(text));
      assert.equal(whole.completionTokensEstimate(), wholeEstimate(text));
    }),
    { numRuns: 2000 },
  );
});

test('only MAX_KEPT_TEXT characters are kept for the payload log; the counts still cover all of it', () => {
  const t = new StreamedText();
  const piece = 'ab '.repeat(1 << 16); // 196608 characters, 65536 words
  const n = Math.ceil(MAX_KEPT_TEXT / piece.length) + 3;
  for (let i = 0; i < n; i++) t.push(piece);
  assert.equal(t.text().length, MAX_KEPT_TEXT);
  assert.equal(t.wordCount(), n * 65536);
  assert.equal(t.completionTokensEstimate(), Math.ceil((n * piece.length - 1) / 4));
});

test('the kept text is cut between characters: never half of a surrogate pair, nor the other half from the next piece', () => {
  const t = new StreamedText();
  t.push('a'.repeat(MAX_KEPT_TEXT - 1));
  t.push('\u{1f600}b');
  t.push('\udc00c');
  assert.equal(t.text(), 'a'.repeat(MAX_KEPT_TEXT - 1));
  assert.equal(t.wordCount(), 1);
});
