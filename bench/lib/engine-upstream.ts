/**
 * The benchmark's provider: a minimal OpenAI-style chat endpoint answering at once with a fixed completion
 * (Kong's fixture good.json), keep-alive, in its own process. Prints its port on stdout.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatCompletion } from '../../spec/helpers/engine-upstream';

const body = JSON.stringify(chatCompletion('gpt-4o-mini'));
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 120_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
