/** Accept-Encoding as RFC 9110 §12.5.3 reads it (engine/encoding.ts); the gateway-level cases are in spec/kong-ai-proxy/encoding.test.ts. */
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { test } from 'node:test';
import { acceptsGzip, gzipAnswer } from '../../plugins/ai-proxy-advanced/engine/encoding';

test('gzip is accepted by name, x-gzip or *, unless its q-value is 0', () => {
  for (const yes of ['gzip', 'gzip, identity', 'br;q=1, GZIP;q=0.5', 'x-gzip', '*', 'identity, *;q=0.1']) assert.equal(acceptsGzip(yes), true, yes);
  for (const no of [undefined, '', 'identity', 'br, deflate', 'gzip;q=0', 'gzip;q=0.000, *', '*;q=0', 'gzip'.padEnd(2000, ' ')]) assert.equal(acceptsGzip(no), false, String(no));
});

test('the answer is gzipped with Content-Encoding and Vary; an empty or already encoded body is left alone', async () => {
  const h: Record<string, string> = { 'content-type': 'application/json', 'content-length': '11' };
  const out = await gzipAnswer('{"a":"bcd"}', h);
  assert.equal(gunzipSync(out as Buffer).toString('utf8'), '{"a":"bcd"}');
  assert.deepEqual(h, { 'content-type': 'application/json', 'content-encoding': 'gzip', vary: 'Accept-Encoding' });
  const br: Record<string, string> = { 'content-encoding': 'br' };
  assert.equal(await gzipAnswer('x', br), 'x');
  assert.equal(await gzipAnswer('', {}), '');
});
