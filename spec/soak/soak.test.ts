/**
 * The short soak of `npm run soak` (bench/soak.ts) in `npm test`: a few seconds through the local gateway and the
 * real plugin server, two of three targets failing with 500s, resets, hangs, garbage and 429s. Every request must
 * be answered 200, once, with the completion made for it; the plugin server's RSS must stay flat.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rssFlat, runSoak } from '../../bench/soak';

test('short soak: 0 client failures, no duplicate or foreign completions, RSS flat, failures really injected', async () => {
  const seconds = Number(process.env.AIPA_SOAK_TEST_SECONDS ?? '4');
  const r = await runSoak({ seconds, connections: 4 });
  assert.deepEqual(r.failureSamples, []);
  assert.equal(r.failures, 0);
  assert.equal(r.duplicates, 0);
  assert.equal(r.wrongBodies, 0);
  assert.ok(r.requests >= 20, `only ${r.requests} requests`);
  assert.ok(r.streamed > 0);
  assert.ok(r.injected >= 10, `only ${r.injected} injected provider failures`);
  assert.ok(!Number.isNaN(r.rssStartMb), 'the plugin server process was found');
  assert.ok(rssFlat(r), `RSS ${r.rssStartMb} -> ${r.rssEndMb} MB`);
});
