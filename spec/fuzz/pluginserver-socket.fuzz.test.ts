/**
 * Property-based fuzzing (fast-check) of the plugin server's unix-socket input, through the real CLI: random
 * bytes, well-formed msgpack of random shapes (wrong types, unknown methods, odd params), and valid RPC frames
 * truncated, corrupted or split at random points. Whatever a connection sends, the server neither crashes nor
 * stops answering other connections, and every reply it does send is a well-formed RPC reply.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { PluginServerClient } from '../../kong/rpc/client';
import { createStreamDecoder, encodeLua } from '../../kong/rpc/lua-msgpack';
import { BODY_READER_PLUGIN, writePlugins } from '../helpers/pluginserver-plugins';
import { type RunningServer, startServer } from '../helpers/pluginserver-process';
import { makeTmpDir } from '../helpers/pluginserver-tmp';
import { fuzzRuns, fuzzSeed } from './runs';

const METHODS = ['plugin.GetStatus', 'plugin.GetPluginInfo', 'plugin.StartInstance', 'plugin.InstanceStatus', 'plugin.CloseInstance', 'plugin.HandleEvent', 'plugin.Step', 'plugin.StepError', 'plugin.SetPluginDir', 'plugin.nope', 'other.GetStatus', 'plugin.constructor', 'plugin.__proto__', 'plugin.call'];
const leaf = fc.oneof(fc.string({ maxLength: 16 }), fc.integer(), fc.double({ noNaN: true }), fc.boolean(), fc.constant(null), fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)));
const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', maxDepth: 4 }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('__proto__', 'constructor', 'Name', 'Config', 'InstanceId', 'EventId', 'Data')), tie('v'), { maxKeys: 4 })),
})).v;
const rpc = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.oneof(fc.integer({ min: 0, max: 1000 }), leaf), fc.oneof(fc.constantFrom(...METHODS), leaf), fc.oneof(fc.array(anyValue, { maxLength: 3 }), anyValue));
const validFrame = rpc.map((m) => encodeLua(m));
const garbled = fc.tuple(validFrame, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }), fc.nat()).map(([f, flips, cut]) => {
  const b = Buffer.from(f);
  for (const [i, v] of flips) b[i % b.length] = v;
  return b.subarray(0, 1 + (cut % b.length));
});
const input = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), validFrame, garbled, fc.array(validFrame, { minLength: 2, maxLength: 4 }).map((fs) => Buffer.concat(fs)));

/** Sends `data` in random pieces; collects what comes back for a short while; never waits past `ms`. */
function exchange(socketPath: string, data: Buffer, splits: number[], ms: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const replies: unknown[] = [];
    const raw: Buffer[] = [];
    const s = net.createConnection(socketPath);
    const done = (): void => {
      s.destroy();
      resolve(raw);
    };
    const timer = setTimeout(done, ms);
    s.on('data', (c: Buffer) => raw.push(c));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(timer);
      resolve(raw);
    });
    s.on('connect', () => {
      let pos = 0;
      for (const n of splits) {
        const end = Math.min(data.length, pos + 1 + (n % 64));
        s.write(data.subarray(pos, end));
        pos = end;
      }
      if (pos < data.length) s.write(data.subarray(pos));
      void replies;
    });
  });
}

describe('plugin server socket fuzz (issue 11)', { timeout: 600_000 }, () => {
  const tmp = makeTmpDir('aipa-fz-');
  let srv: RunningServer;
  let control: PluginServerClient;
  before(async () => {
    const plugins = writePlugins(path.join(tmp.dir, 'plugins'), { 'body-reader.js': BODY_READER_PLUGIN });
    srv = await startServer('ours', { pluginsDir: plugins, prefix: tmp.dir, sockName: 'fz.sock' });
    control = new PluginServerClient({ socketPath: srv.socketPath });
  });
  after(async () => {
    control.close();
    await srv.stop();
    tmp.cleanup();
  });

  test('random, malformed and split frames: no crash, other connections keep being answered, replies well-formed', async () => {
    await fc.assert(
      fc.asyncProperty(input, fc.array(fc.nat(), { maxLength: 6 }), async (data, splits) => {
        const raw = await exchange(srv.socketPath, data, splits, 150);
        // Whatever came back decodes as [1, msgid, error, result] replies.
        const replies: unknown[] = [];
        const d = createStreamDecoder((m) => replies.push(m));
        for (const c of raw) d.push(c);
        for (const r of replies) {
          assert.ok(Array.isArray(r) && r[0] === 1 && r.length === 4, `reply ${JSON.stringify(r)}`);
        }
        assert.equal(srv.hasExited(), false, srv.stderr());
        const status = (await Promise.race([control.call('plugin.GetStatus'), new Promise((_, rej) => setTimeout(() => rej(new Error('GetStatus did not answer within 5 s')), 5000))])) as { Pid: number };
        assert.equal(status.Pid, srv.proc.pid);
      }),
      { numRuns: fuzzRuns(100), seed: fuzzSeed(), endOnFailure: true },
    );
    assert.ok(!/unhandled|TypeError|RangeError/.test(srv.stderr()), srv.stderr().slice(-2000));
  });
});
