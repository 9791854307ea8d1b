/**
 * `npm run bench -- gateway`: the local gateway's own overhead on plain proxying (no plugin).
 * A local upstream (its own process) answers a small JSON body; the same load runs against it directly and
 * through the gateway (its own process, started as `npm start` does), at 1 and 20 concurrent connections.
 * Prints requests/s, p50 and p99 latency for each, and the gateway/direct ratios. Figures, never assertions.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load, type LoadResult as Result } from './lib/load';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 4000);
const WARMUP_MS = 1000;
const BODY = '{"messages":[{"role":"user","content":"hi"}]}';

const UPSTREAM_SRC = `
const http = require('http');
const body = JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'hello' } }] });
const s = http.createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }); res.end(body); }); });
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => console.log('PORT ' + s.address().port));
`;

function startChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, pattern: RegExp): Promise<{ child: ChildProcess; match: RegExpMatchArray }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = out.match(pattern);
      if (m) resolve({ child, match: m });
    });
    child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${String(code)}: ${err}${out}`)));
  });
}

const fmt = (r: Result): string => `${r.rps.toFixed(0).padStart(7)} req/s   p50 ${r.p50.toFixed(3)} ms   p99 ${r.p99.toFixed(3)} ms${r.errors ? `   errors ${r.errors}` : ''}`;

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-bench-'));
  const children: ChildProcess[] = [];
  try {
    const up = await startChild(process.execPath, ['-e', UPSTREAM_SRC], process.env, /PORT (\d+)/);
    children.push(up.child);
    const upPort = Number(up.match[1]);
    const yml = path.join(dir, 'kong.yml');
    writeFileSync(yml, `_format_version: "3.0"\nservices:\n  - name: up\n    url: http://127.0.0.1:${upPort}\n    routes:\n      - name: r\n        paths: [/v1]\n`);
    const gw = await startChild(
      process.execPath,
      [path.join(__dirname, '..', 'kong', 'start.js')],
      {
        ...process.env,
        KONG_PREFIX: dir,
        KONG_DECLARATIVE_CONFIG: yml,
        KONG_PROXY_LISTEN: '127.0.0.1:0',
        KONG_ADMIN_LISTEN: 'off',
        KONG_NGINX_WORKER_PROCESSES: '1',
        KONG_LOG_LEVEL: 'error',
      },
      /proxy listening on (http:\/\/\S+)/,
    );
    children.push(gw.child);
    const gwOrigin = gw.match[1] ?? '';
    const direct = `http://127.0.0.1:${upPort}`;
    console.log(`plain proxying, POST with a small JSON body, ${DURATION_MS} ms per run after ${WARMUP_MS} ms warm-up; node ${process.version}, ${os.cpus().length} CPUs`);
    for (const connections of [1, 20]) {
      const viaDirect = { url: `${direct}/v1/chat`, body: BODY };
      const viaGateway = { url: `${gwOrigin}/v1/chat`, body: BODY };
      await load(viaDirect, connections, WARMUP_MS / 1000);
      const d = await load(viaDirect, connections, DURATION_MS / 1000);
      await load(viaGateway, connections, WARMUP_MS / 1000);
      const g = await load(viaGateway, connections, DURATION_MS / 1000);
      console.log(`\n${connections} connection${connections > 1 ? 's' : ''}`);
      console.log(`  direct   ${fmt(d)}`);
      console.log(`  gateway  ${fmt(g)}`);
      console.log(`  gateway/direct: throughput ${(g.rps / d.rps).toFixed(2)}x, p50 +${(g.p50 - d.p50).toFixed(3)} ms, p99 +${(g.p99 - d.p99).toFixed(3)} ms`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exitCode = 1;
});
