/**
 * The no-op reference plugin server the benchmarks measure against: the same framing, encoder and reply writes
 * (kong/pluginserver/reply-writer.ts) as ours,
 * canned HandleEvent/Step replies walking `calls` (four PDK calls or three plus "ret"), no plugin, and the same
 * busy polling as ours by default while a Step is due (kong/rpc/busy-poll.ts, DEFAULT_BUSY_POLL_US: off). Its CPU per event is
 * the floor set by socket I/O, which no plugin server can go below. Returned as source for
 * `node -e SOURCE SOCKET_PATH`, so it runs in its own process like the servers it is compared with.
 */
import path from 'node:path';

export function noopServerSource(repoRoot: string, calls: readonly unknown[]): string {
  if (calls.length !== 4) throw new Error('the no-op server answers HandleEvent plus three Steps: give four calls');
  return `
const net = require('net');
const { createStreamDecoder } = require(${JSON.stringify(path.join(repoRoot, 'dist/kong/rpc/lua-msgpack.js'))});
const { encodeJs } = require(${JSON.stringify(path.join(repoRoot, 'dist/kong/pluginserver/js-msgpack.js'))});
const { ReplyWriter } = require(${JSON.stringify(path.join(repoRoot, 'dist/kong/pluginserver/reply-writer.js'))});
const { BusyPoll } = require(${JSON.stringify(path.join(repoRoot, 'dist/kong/rpc/busy-poll.js'))});
const { DEFAULT_BUSY_POLL_US } = require(${JSON.stringify(path.join(repoRoot, 'dist/kong/pluginserver/server.js'))});
const poll = new BusyPoll(DEFAULT_BUSY_POLL_US);
const isFinal = (c) => c === 'ret' || c.Method === 'kong.response.exit' || c.Method === 'kong.response.error';
const calls = ${JSON.stringify(calls)};
const steps = new Map(); const tokens = new Map(); let eid = 0;
net.createServer((s) => {
  const out = new ReplyWriter(s);
  const d = createStreamDecoder((m) => {
    const [, id, method, params] = m;
    let res;
    if (method === 'plugin.StartInstance') res = { Name: 'noop', Id: 0, Config: {}, StartTime: Date.now() / 1000 };
    else if (method === 'plugin.HandleEvent') { steps.set(eid, 0); res = { Data: calls[0], EventId: eid++ }; }
    else { const e = params[0].EventId; poll.settle(tokens.get(e)); const n = steps.get(e) + 1; if (n === 3) steps.delete(e); else steps.set(e, n); res = { Data: calls[n], EventId: e }; }
    out.write(encodeJs([1, id, undefined, res]));
    if (res.Data !== undefined && !isFinal(res.Data)) tokens.set(res.EventId, poll.arm()); else tokens.delete(res.EventId);
  });
  s.on('data', (c) => d.push(c));
  s.on('error', () => {});
}).listen(process.argv[1]);
process.on('SIGTERM', () => process.exit(0));
`;
}
