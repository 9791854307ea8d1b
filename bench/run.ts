/**
 * `npm run bench [-- name ...]`: runs every compiled bench/<name>.js (or the named ones) one after another,
 * each in its own process so one benchmark's heap and JIT state cannot colour the next. Benchmarks print
 * their own figures, always beside a baseline measured in the same run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const dir = __dirname;
const wanted = process.argv.slice(2);
const all = readdirSync(dir)
  .filter((f) => f.endsWith('.js') && f !== 'run.js')
  .map((f) => f.slice(0, -3))
  .sort();
const names = wanted.length > 0 ? wanted : all;
let failed = 0;
for (const name of names) {
  if (!all.includes(name)) {
    console.error(`unknown benchmark '${name}'; have: ${all.join(', ')}`);
    process.exitCode = 2;
    continue;
  }
  console.log(`\n=== bench/${name} ===`);
  const r = spawnSync(process.execPath, ['--expose-gc', path.join(dir, `${name}.js`)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
if (failed > 0) process.exitCode = 1;
