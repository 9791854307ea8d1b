import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { newKongBridge, PdkError } from '../../kong/pluginserver/pdk-bridge';
import { isNonReturn, PluginEvent, RET, type PdkMessage } from '../../kong/pluginserver/event';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const KongPdk = require('kong-pdk/pdk') as new (pipe: unknown) => { kong: unknown };

type Reply = [unknown, unknown];
function pipe(replies: Reply[]): { sent: PdkMessage[]; pipe: { put(m: PdkMessage): void; get(): Promise<Reply> } } {
  const sent: PdkMessage[] = [];
  return { sent, pipe: { put: (m) => sent.push(m), get: async () => replies.shift() ?? [undefined, undefined] } };
}

/**
 * Our side: a real PluginEvent, with Kong played by taking each message the plugin sends and answering every call
 * that expects an answer from `replies` (`[result, undefined]` as Step, `[undefined, err]` as StepError).
 */
function event(replies: Reply[]): { sent: PdkMessage[]; ev: PluginEvent } {
  const sent: PdkMessage[] = [];
  const ev = new PluginEvent(1, (m) => new PdkError(m));
  const serve = (m: PdkMessage): void => {
    sent.push(m);
    if (m !== RET && !isNonReturn(m)) {
      const [data, err] = replies.shift() ?? [undefined, undefined];
      if (err) ev.deliver(err, true);
      else ev.deliver(data, false);
    }
    take();
  };
  const take = (): void => {
    const m = ev.next();
    if (m !== undefined) serve(m);
    else ev.wait(serve);
  };
  take();
  return { sent, ev };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

async function drive(kong: Any): Promise<unknown[]> {
  const out: unknown[] = [];
  out.push(await kong.request.getRawBody(0));
  out.push(await kong.request.get_header('Host'));
  out.push(await kong.service.request.setRawBody('x'));
  out.push(await kong.log.setSerializeValue('ai.proxy.meta', { a: 1 }));
  out.push(await kong.nginx.getCtx('ABCdefGhI'));
  out.push(await kong.XYZ.aBC.getURLWithQuery());
  out.push(await kong.response.exit(200, 'ok', { 'x-a': 'b' }));
  out.push(await kong.response.error(500));
  try {
    await kong.request.getPath();
  } catch (e) {
    out.push([(e as Error).name, (e as Error).message, (e as Error).constructor]);
  }
  return out;
}

describe('the kong object plugins get (kong-pdk 0.6.0 bridge, name conversion cached)', () => {
  test('every call, name conversion, result and PDK error is what kong-pdk\'s own bridge produces', async () => {
    const replies = (): Reply[] => [['body', undefined], ['h', undefined], [undefined, undefined], [true, undefined], [1, undefined], ['u', undefined], [undefined, 'boom']];
    const stock = pipe(replies());
    const ours = pipe(replies());
    const want = await drive(new KongPdk(stock.pipe).kong);
    // Twice: the second run takes the cached names.
    for (let i = 0; i < 2; i++) {
      const o = event(replies());
      assert.deepEqual(await drive(newKongBridge(o.ev)), want);
      assert.deepEqual(o.sent, stock.sent);
    }
    assert.deepEqual(ours.sent, []);
  });

  test('a property access returns a fresh callable, and a Symbol property throws as in kong-pdk', () => {
    const stock = new KongPdk(pipe([]).pipe).kong as Any;
    const kong = newKongBridge(event([]).ev) as Any;
    assert.notEqual(kong.request, kong.request);
    assert.equal(typeof kong.request.getHeader, 'function');
    // As in kong-pdk, even `prefix` and `call` go through the trap: they are bridge calls themselves.
    assert.equal(typeof kong.request.getHeader.prefix, typeof stock.request.getHeader.prefix);
    assert.equal(typeof kong.request.getHeader.call, 'function');
    const err = (k: Any): string => {
      try {
        return String(k[Symbol.iterator]);
      } catch (e) {
        return `${(e as Error).name}: ${(e as Error).message}`;
      }
    };
    assert.equal(err(kong), err(stock));
  });
});
