/**
 * Stream framers against Kong OSS's streaming-chunk-formats fixtures (spec/fixtures/providers/framing/<case>).
 * Each case runs with the fixture's own chunking, split at every byte boundary, and byte by byte: the events must
 * be identical every time.
 * Deliberate difference: text-event-stream — a last frame without its blank line is delivered at end of stream
 * (Kong holds it as a truncated frame).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AwsEventStreamFramer, AwsEventStreamSseView } from '../../plugins/ai-proxy-advanced/providers/streams/aws-eventstream';
import type { Framer, StreamEvent } from '../../plugins/ai-proxy-advanced/providers/streams/framer';
import { JsonArrayFramer } from '../../plugins/ai-proxy-advanced/providers/streams/json-array';
import { NdjsonFramer } from '../../plugins/ai-proxy-advanced/providers/streams/ndjson';
import { SseFramer } from '../../plugins/ai-proxy-advanced/providers/streams/sse';
import { TranslationError } from '../../plugins/ai-proxy-advanced/errors';
import { bytewise, caseDirs, readFixture, readJsonFixture, splitAt } from '../helpers/providers-fixtures';

interface FramingCase {
  framer: 'sse' | 'json-array' | 'aws';
  inputs: string[];
  expected: string;
  compare: 'events' | 'gemini-text' | 'aws-json';
  started?: boolean;
  after_end?: StreamEvent[];
}

function makeFramer(c: FramingCase): Framer {
  if (c.framer === 'sse') return new SseFramer();
  if (c.framer === 'aws') return new AwsEventStreamSseView();
  return new JsonArrayFramer({ started: c.started ?? false });
}

function run(c: FramingCase, parts: Buffer[]): { pushed: StreamEvent[]; ended: StreamEvent[] } {
  const f = makeFramer(c);
  const pushed = parts.flatMap((p) => f.push(p));
  return { pushed, ended: f.end() };
}

function check(c: FramingCase, got: { pushed: StreamEvent[]; ended: StreamEvent[] }): void {
  if (c.compare === 'gemini-text') {
    const text = got.pushed.map((e) => (JSON.parse(e.data) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> }).candidates[0]!.content.parts[0]!.text).join('');
    assert.equal(text, readFixture(c.expected).toString('utf8'));
    return;
  }
  const expected = readJsonFixture<StreamEvent[]>(c.expected);
  if (c.compare === 'aws-json') {
    assert.equal(got.pushed.length, expected.length);
    got.pushed.forEach((e, i) => assert.deepEqual(JSON.parse(e.data), JSON.parse(expected[i]!.data)));
    return;
  }
  const all = [...got.pushed, ...got.ended];
  assert.deepEqual(all, [...expected, ...(c.after_end ?? [])]);
}

for (const name of caseDirs('framing')) {
  const c = readJsonFixture<FramingCase>(`framing/${name}/case.json`);
  describe(`framing ${name}`, () => {
    const parts = c.inputs.map((p) => readFixture(p));
    const whole = Buffer.concat(parts);
    it('produces Kong\'s events from the fixture chunks', () => check(c, run(c, parts)));
    it('produces the same events split at every byte boundary', () => {
      const reference = run(c, [whole]);
      for (let at = 1; at < whole.length; at++) {
        const got = run(c, splitAt(whole, at));
        assert.deepEqual([...got.pushed, ...got.ended], [...reference.pushed, ...reference.ended], `split at ${at}`);
      }
      check(c, reference);
    });
    it('produces the same events fed byte by byte', () => check(c, run(c, bytewise(whole))));
  });
}

describe('framers on malformed input', () => {
  it('rejects an AWS event-stream frame whose checksum does not match', () => {
    const good = readFixture('kong-oss/unit/streaming-chunk-formats/aws/input.bin');
    const bad = Buffer.from(good);
    bad[40] = bad[40]! ^ 0xff;
    assert.throws(() => new AwsEventStreamFramer().push(bad), TranslationError);
  });

  it('reports an AWS event-stream that ends inside a message', () => {
    const good = readFixture('kong-oss/unit/streaming-chunk-formats/aws/input.bin');
    const f = new AwsEventStreamFramer();
    f.push(good.subarray(0, 50));
    assert.throws(() => f.end(), /ended inside a message/);
  });

  it('rejects a Gemini stream that does not start with an array', () => {
    assert.throws(() => new JsonArrayFramer().push(Buffer.from('{"a":1}')), /expected '\['/);
  });

  it('keeps brackets, commas and escaped quotes inside Gemini strings', () => {
    const f = new JsonArrayFramer();
    const src = '[{"t":"a,]}[\\"x"},\n{"t":"b"}]';
    const events = bytewise(Buffer.from(src)).flatMap((b) => f.push(b));
    assert.deepEqual(events.map((e) => e.data), ['{"t":"a,]}[\\"x"}', '{"t":"b"}', '[DONE]']);
    assert.equal(f.done, true);
  });

  it('joins multi-line SSE data, skips comments and accepts CRLF', () => {
    const f = new SseFramer();
    const events = f.push(Buffer.from(': keep-alive\r\nevent: x\r\ndata: a\r\ndata: b\r\n\r\n'));
    assert.deepEqual(events, [{ event: 'x', data: 'a\nb' }]);
  });

  it('ends SSE lines at CR, LF and CRLF alike, wherever the chunks split them', () => {
    // Lone CRs, a CRLF and LFs in one stream; a CR as the last byte of a chunk whose LF starts the next must
    // still be one line end, not a line end and an empty line (which would dispatch an event early).
    const src = 'data: a\rdata: b\r\rdata: c\r\n\r\ndata: d\n\nevent: e\rdata: f\r\n\ndata: g\n\r';
    const expected = [{ data: 'a\nb' }, { data: 'c' }, { data: 'd' }, { event: 'e', data: 'f' }, { data: 'g' }];
    const whole = new SseFramer();
    assert.deepEqual([...whole.push(Buffer.from(src)), ...whole.end()], expected);
    for (let at = 1; at < src.length; at++) {
      const f = new SseFramer();
      const got = [...f.push(Buffer.from(src.slice(0, at))), ...f.push(Buffer.from(src.slice(at))), ...f.end()];
      assert.deepEqual(got, expected, `split at ${at}`);
    }
    const f = new SseFramer();
    assert.deepEqual([...bytewise(Buffer.from(src)).flatMap((b) => f.push(b)), ...f.end()], expected);
  });

  it('keeps a multi-byte character split across chunks intact', () => {
    const bytes = Buffer.from('{"t":"é€😀"}\n');
    const f = new NdjsonFramer();
    const events = bytewise(bytes).flatMap((b) => f.push(b));
    assert.deepEqual(events, [{ data: '{"t":"é€😀"}' }]);
  });
});
