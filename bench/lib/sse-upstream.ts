/**
 * The stream benchmark's provider: an OpenAI-style chat endpoint answering every POST with a
 * chat.completion.chunk SSE stream, keep-alive, in its own process. Prints its port on stdout.
 *   /ttfc/...   the head and the first frame in one write, the rest 20 ms later: time to first chunk
 *   /ttfb/...   the same after TTFB_MS (default 50) ms, as a provider that thinks before its first token (real
 *               ones take hundreds of ms): what the plugin can overlap with its own work shows here
 *   /burst/...  BURST_FRAMES (default 200) frames written back to back, one write each: chunks/s
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { openAiChatStream } from '../../spec/helpers/engine-upstream';

const FRAMES = Number(process.env.BURST_FRAMES ?? 200);
const TTFB_MS = Number(process.env.TTFB_MS ?? 50);
const burst = openAiChatStream('gpt-4o-mini', Array.from({ length: FRAMES - 3 }, (_, i) => ` tok${i}`));
const ttfc = openAiChatStream('gpt-4o-mini', ['one', ' two']);

const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    const first = (): void => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(ttfc[0]);
      setTimeout(() => res.end(ttfc.slice(1).join('')), 20);
    };
    if (req.url?.startsWith('/ttfc/')) return first();
    if (req.url?.startsWith('/ttfb/')) {
      setTimeout(first, TTFB_MS);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const f of burst) res.write(f);
    res.end();
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
