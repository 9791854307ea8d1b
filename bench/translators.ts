/**
 * `npm run bench -- translators`: translation cost per request, per response and per stream event for each
 * translated provider, beside a baseline measured in the same run on the same bytes:
 *  - request/response baseline: JSON.parse + JSON.stringify of the same body (the least any proxy that looks at
 *    the JSON has to do);
 *  - stream baseline: JSON.parse + JSON.stringify of each event's payload plus writing `data: …\n\n`.
 * Figures are printed, never asserted. Inputs: the Kong OSS fixtures and stream cases under spec/fixtures/providers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TargetConfig } from '../schemas/config';
import type { TranslateContext } from '../plugins/ai-proxy-advanced/providers/provider';
import { DRIVERS } from '../plugins/ai-proxy-advanced/providers';

const FIX = path.resolve(__dirname, '../../spec/fixtures/providers');
const read = (rel: string): Buffer => readFileSync(path.join(FIX, rel));
const readJson = <T>(rel: string): T => JSON.parse(read(rel).toString('utf8')) as T;

function ctxOf(target: TargetConfig, over: Partial<TranslateContext> = {}): TranslateContext {
  return { target, provider: target.model.provider, routeType: target.route_type, model: target.model.name ?? '', stream: false, clientPath: '/', clientQuery: {}, clientMethod: 'POST', ...over };
}

/** ns per call: warm up, then time batches until ~200 ms have passed; best of 5 batches. */
function measure(fn: () => void): number {
  for (let i = 0; i < 2000; i++) fn();
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < 40_000_000n) {
      for (let i = 0; i < 200; i++) fn();
      n += 200;
      elapsed = process.hrtime.bigint() - start;
    }
    best = Math.min(best, Number(elapsed) / n);
  }
  return best;
}

const rows: string[][] = [['provider/case', 'operation', 'translator ns', 'baseline ns', 'ratio']];
const row = (name: string, op: string, t: number, b: number): void => {
  rows.push([name, op, t.toFixed(0), b.toFixed(0), (t / b).toFixed(2)]);
};
let sink = 0;

interface GoldenCase { target: TargetConfig; request: string; response: string }
for (const name of readdirCases('golden')) {
  const c = readJson<GoldenCase>(`golden/${name}/case.json`);
  const driver = DRIVERS[c.target.model.provider]!;
  const ctx = ctxOf(c.target);
  const reqText = read(c.request).toString('utf8');
  const resBytes = read(c.response);
  const resText = resBytes.toString('utf8');
  row(name, 'request', measure(() => { sink += JSON.stringify(driver.toRequest(JSON.parse(reqText) as Record<string, unknown>, ctx).body).length; }),
    measure(() => { sink += JSON.stringify(JSON.parse(reqText)).length; }));
  row(name, 'response', measure(() => { sink += JSON.stringify(driver.fromResponse(200, {}, resBytes, ctx).body).length; }),
    measure(() => { sink += JSON.stringify(JSON.parse(resText)).length; }));
}

interface StreamCase { target: TargetConfig; stream_input: string | string[]; input_encoding?: 'base64'; include_usage?: boolean }
for (const name of readdirCases('streams')) {
  const c = readJson<StreamCase>(`streams/${name}/case.json`);
  const driver = DRIVERS[c.target.model.provider]!;
  const ctx = ctxOf(c.target, { stream: true, includeUsage: c.include_usage ?? false });
  const files = Array.isArray(c.stream_input) ? c.stream_input : [c.stream_input];
  const input = Buffer.concat(files.map((f) => (c.input_encoding === 'base64' ? Buffer.from(read(f).toString('ascii'), 'base64') : read(f))));
  // Baseline events: the client frames' payloads stand in for the provider events (same count, similar size).
  const expected = read(`streams/${name}/expected.txt`).toString('utf8').split('\n\n').filter((f) => f.startsWith('data: {'));
  const events = Math.max(expected.length, 1);
  const t = measure(() => {
    const tr = driver.createStreamTranslator!(ctx);
    sink += tr.push(input).length + tr.end().length;
  }) / events;
  const b = measure(() => {
    for (const f of expected) sink += `data: ${JSON.stringify(JSON.parse(f.slice(6)))}\n\n`.length;
  }) / events;
  row(`stream/${name}`, `per event (${events})`, t, b);
}

function readdirCases(group: string): string[] {
  return readdirSync(path.join(FIX, group)).sort();
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
for (const r of rows) console.log(r.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  '));
console.log(`\nnode ${process.version}; ratio = translator / baseline on the same input (lower is cheaper). checksum ${sink % 997}`);
