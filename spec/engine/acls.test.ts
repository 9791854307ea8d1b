/**
 * `config.acls` (3.14), pinning docs/acls.md. End to end through the local gateway and the project's plugin
 * server (a test auth plugin before ai-proxy-advanced authenticates the consumer named by X-Test-Consumer
 * with Kong's kong.client.authenticate): each match type allowing and denying, deny over allow, AND within a
 * rule and OR across rules, CIDRs, target filtering by model and provider, acls with model_alias. Then the
 * PDK calls the rules cost, and consumer groups, IPv6 and the normalized path, through the test PDK (the local
 * gateway follows Kong OSS, which has no consumer groups).
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { AclMatch, PluginConfig, TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { FakePdk, type FakeClientRequest } from '../helpers/engine-pdk';
import { defaultBehaviour, EngineUpstream } from '../helpers/engine-upstream';

let a: EngineUpstream;
let b: EngineUpstream;
let gw: EngineGateway;

type Acls = NonNullable<PluginConfig['acls']>;

function openai(url: string, name = 'gpt-4o-mini', extra: Partial<TargetConfig['model']> = {}): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name, options: { upstream_url: `${url}/v1/chat/completions` }, ...extra },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
  };
}

/** An OpenAI-format provider of another name: mistral with mistral_format openai. */
function mistral(url: string, name = 'mistral-small', extra: Partial<TargetConfig['model']> = {}): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    model: { provider: 'mistral', name, options: { mistral_format: 'openai', upstream_url: `${url}/v1/chat/completions` }, ...extra },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
  };
}

const chat = (extra: Record<string, unknown> = {}): string => JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], ...extra });

async function post(path: string, headers: Record<string, string> = {}, body = chat()): Promise<{ status: number; json: Record<string, unknown>; code: string | null }> {
  const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) as Record<string, unknown>, code: r.headers.get('x-ai-proxy-error-code') };
}

/** A POST whose headers may repeat: `[name, value]` pairs, each its own field line (fetch would join them). */
function postLines(path: string, lines: Array<[string, string]>): Promise<{ status: number; json: Record<string, unknown>; code: string | null }> {
  const headers: Record<string, string[]> = { 'content-type': ['application/json'] };
  for (const [k, v] of lines) (headers[k] ??= []).push(v);
  return new Promise((resolve, reject) => {
    const req = http.request(`${gw.proxy}${path}`, { method: 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const code = res.headers['x-ai-proxy-error-code'];
        resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>, code: typeof code === 'string' ? code : null });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(chat());
  });
}

const DENIED = { error: { message: 'request denied by acls' } };

function assertDenied(r: { status: number; json: Record<string, unknown>; code: string | null }, what: string): void {
  assert.equal(r.status, 403, what);
  assert.deepEqual(r.json, DENIED, what);
  assert.equal(r.code, 'AIPA_ERR_ACCESS_DENIED', what);
}

const rule = (...match: AclMatch[]): { match: AclMatch[] } => ({ match });

before(async () => {
  [a, b] = await Promise.all([EngineUpstream.start(), EngineUpstream.start()]);
  const one = (acls: Acls) => ({ targets: [openai(a.url)], acls });
  gw = await startEngineGateway(
    [
      { path: '/deny-header', config: one({ deny: [rule({ type: 'header', key: 'X-Team', values: ['blocked', 'banned'] })] }) },
      { path: '/allow-header', config: one({ allow: [rule({ type: 'header', key: 'x-team', values: ['a'] })] }) },
      { path: '/deny-header-comma', config: one({ deny: [rule({ type: 'header', key: 'x-team', values: ['x, y'] })] }) },
      { path: '/ip-other', config: one({ allow: [rule({ type: 'ip', values: ['10.0.0.0/8', '2001:db8::/32'] })] }) },
      { path: '/ip-local', config: one({ allow: [rule({ type: 'ip', values: ['192.0.2.1', '127.0.0.0/8'] })] }) },
      { path: '/ip-deny', config: one({ deny: [rule({ type: 'ip', values: ['127.0.0.1'] })] }) },
      { path: '/paths', config: one({ allow: [rule({ type: 'path', values: ['/paths/v1/chat/completions', '/paths/open/*'] })] }) },
      { path: '/consumer', config: one({ allow: [rule({ type: 'consumer', values: ['alice'] }), rule({ type: 'consumer', key: 'id', values: ['id-carol'] })] }) },
      { path: '/consumer-deny', config: one({ deny: [rule({ type: 'consumer', key: 'custom_id', values: ['custom-mallory'] })] }) },
      { path: '/group', config: one({ allow: [rule({ type: 'consumer_group', key: 'name', values: ['gold'] })] }) },
      {
        path: '/logic',
        config: one({
          // (team a AND model gpt-4o-mini) OR consumer admin; and nobody with X-Block.
          allow: [rule({ type: 'header', key: 'x-team', values: ['a'] }, { type: 'model', values: ['gpt-4o-mini'] }), rule({ type: 'consumer', key: 'username', values: ['admin'] })],
          deny: [rule({ type: 'header', key: 'x-block', values: ['yes'] })],
        }),
      },
      { path: '/provider', config: { targets: [openai(a.url), mistral(b.url)], acls: { deny: [rule({ type: 'provider', values: ['openai'] })] } } },
      {
        path: '/provider-by-team',
        config: {
          targets: [openai(a.url), mistral(b.url)],
          acls: { deny: [rule({ type: 'header', key: 'x-team', values: ['eu'] }, { type: 'provider', values: ['openai'] })] },
        },
      },
      { path: '/model', config: { targets: [openai(a.url, 'gpt-4o'), openai(b.url, 'gpt-4o-mini')], acls: { deny: [rule({ type: 'model', values: ['gpt-4o'] })] } } },
      {
        path: '/alias',
        config: {
          targets: [openai(a.url, 'gpt-4o', { model_alias: 'smart' }), mistral(b.url, 'mistral-large', { model_alias: 'smart' }), openai(a.url, 'gpt-4o-mini', { model_alias: 'fast' })],
          acls: { deny: [rule({ type: 'provider', values: ['openai'] }, { type: 'header', key: 'x-team', values: ['eu'] }), rule({ type: 'header', key: 'x-team', values: ['nobody'] })] },
        },
      },
    ],
    { authenticate: true },
  );
});
after(async () => {
  await gw?.close();
  await Promise.all([a, b].map((u) => u?.close()));
});
beforeEach(() => {
  for (const u of [a, b]) {
    u.requests.length = 0;
    u.set(defaultBehaviour);
  }
});

describe('acls through the gateway', () => {
  test('header: a deny rule blocks its values (403, no provider call); other values and no header pass', async () => {
    assertDenied(await post('/deny-header', { 'x-team': 'blocked' }), 'blocked');
    assertDenied(await post('/deny-header', { 'x-team': 'banned' }), 'banned');
    assert.equal(a.requests.length, 0);
    assert.equal((await post('/deny-header', { 'x-team': 'Blocked' })).status, 200, 'values match exactly');
    assert.equal((await post('/deny-header')).status, 200);
    assert.equal(a.requests.length, 2);
  });

  test('header: with allow rules, a request must match one (the header name is case-insensitive)', async () => {
    assert.equal((await post('/allow-header', { 'X-TEAM': 'a' })).status, 200);
    assertDenied(await post('/allow-header', { 'x-team': 'b' }), 'other value');
    assertDenied(await post('/allow-header'), 'no header');
  });

  test('header: sent several times or as a comma list, it matches when any of its values does (docs/acls.md)', async () => {
    assertDenied(await post('/deny-header', { 'x-team': 'a, blocked' }), 'comma list');
    assertDenied(await post('/deny-header', { 'x-team': 'a,\tbanned ,c' }), 'comma list, spaces and tabs around elements');
    assertDenied(await postLines('/deny-header', [['x-team', 'a'], ['x-team', 'blocked']]), 'two field lines');
    assert.equal((await post('/deny-header', { 'x-team': 'a, not-blocked, blocked-not' })).status, 200, 'elements match exactly');
    assert.equal((await postLines('/allow-header', [['x-team', 'b'], ['x-team', 'a']])).status, 200);
    assert.equal((await post('/allow-header', { 'x-team': 'b, a' })).status, 200);
    assertDenied(await post('/allow-header', { 'x-team': 'b, c' }), 'no element matches');
    assertDenied(await post('/allow-header', { 'x-team': ',' }), 'empty elements match nothing');
    // A configured value that holds a comma still matches a field line sent as it is written.
    assertDenied(await post('/deny-header-comma', { 'x-team': 'x, y' }), 'the whole line');
    assert.equal((await post('/deny-header-comma', { 'x-team': 'x' })).status, 200);
  });

  test('ip: addresses and CIDR blocks, v4 and v6, matched against the client address', async () => {
    assertDenied(await post('/ip-other'), 'outside 10/8 and 2001:db8::/32');
    assert.equal((await post('/ip-local')).status, 200, 'inside 127/8');
    assertDenied(await post('/ip-deny'), 'the exact address');
  });

  test('path: exact values, and prefixes written with a trailing *', async () => {
    assert.equal((await post('/paths/v1/chat/completions')).status, 200);
    assert.equal((await post('/paths/open/anything/below')).status, 200);
    assertDenied(await post('/paths/v1/chat/completions/more'), 'exact value, longer path');
    assertDenied(await post('/paths/v1/embeddings'), 'another path');
  });

  test('consumer: by username, id or custom_id (no key: any of them); no consumer matches no rule', async () => {
    assert.equal((await post('/consumer', { 'x-test-consumer': 'alice' })).status, 200, 'username, no key');
    assert.equal((await post('/consumer', { 'x-test-consumer': 'carol' })).status, 200, 'key id');
    assertDenied(await post('/consumer', { 'x-test-consumer': 'bob' }), 'another consumer');
    assertDenied(await post('/consumer'), 'anonymous');
    assertDenied(await post('/consumer-deny', { 'x-test-consumer': 'mallory' }), 'custom_id');
    assert.equal((await post('/consumer-deny', { 'x-test-consumer': 'alice' })).status, 200);
    assert.equal((await post('/consumer-deny')).status, 200, 'anonymous is not mallory');
  });

  test('consumer_group on Kong OSS (no consumer groups, get_consumer_groups answers nil): an allow rule on groups admits nobody', async () => {
    assertDenied(await post('/group', { 'x-test-consumer': 'alice' }), 'no groups');
  });

  test("a rule's conditions are AND-ed, rules are OR-ed, and a deny rule wins over any allow rule", async () => {
    assert.equal((await post('/logic', { 'x-team': 'a' })).status, 200, 'team a, target model gpt-4o-mini');
    assert.equal((await post('/logic', { 'x-team': 'a' }, chat({ model: 'gpt-4o-mini' }))).status, 200, 'team a, requested gpt-4o-mini');
    assertDenied(await post('/logic', { 'x-team': 'a' }, chat({ model: 'gpt-4o' })), 'team a, another model: the rule fails on one condition');
    assertDenied(await post('/logic', { 'x-team': 'b' }), 'another team');
    assert.equal((await post('/logic', { 'x-test-consumer': 'admin' })).status, 200, 'second rule');
    assertDenied(await post('/logic', { 'x-test-consumer': 'admin', 'x-block': 'yes' }), 'deny over the second rule');
    assertDenied(await post('/logic', { 'x-team': 'a', 'x-block': 'yes' }), 'deny over the first rule');
  });

  test('provider: a denied provider takes its targets out of the balancer, the others serve', async () => {
    for (let i = 0; i < 4; i++) assert.equal((await post('/provider')).status, 200);
    assert.equal(a.requests.length, 0, 'the openai target is never picked');
    assert.equal(b.requests.length, 4);
  });

  test('provider AND header: only that team loses that provider; failover never reaches a denied target', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await post('/provider-by-team', { 'x-team': 'eu' })).status, 200);
    assert.deepEqual([a.requests.length, b.requests.length], [0, 2]);
    b.set({ kind: 'reset' });
    const r = await post('/provider-by-team', { 'x-team': 'eu' });
    assert.equal(r.status, 502, 'the only allowed target failed; the denied one is not a fallback');
    assert.equal(a.requests.length, 0);
    b.set(defaultBehaviour);
    for (let i = 0; i < 2; i++) assert.equal((await post('/provider-by-team', { 'x-team': 'us' })).status, 200);
    assert.equal(a.requests.length, 1, 'other teams are balanced over both');
  });

  test('model: the requested model, or without one the model.name a target would run', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await post('/model')).status, 200);
    assert.deepEqual([a.requests.length, b.requests.length], [0, 2], 'without a requested model the gpt-4o target is out');
    assertDenied(await post('/model', {}, chat({ model: 'gpt-4o' })), 'asking for it');
  });

  test('with model_alias: acls filter the alias targets; an unknown alias is still 400; refused everywhere is 403 first', async () => {
    for (let i = 0; i < 2; i++) assert.equal((await post('/alias', { 'x-team': 'eu' }, chat({ model: 'smart' }))).status, 200);
    assert.deepEqual(b.requests.map((r) => r.json?.model), ['mistral-large', 'mistral-large']);
    assert.equal(a.requests.length, 0);
    assertDenied(await post('/alias', { 'x-team': 'eu' }, chat({ model: 'fast' })), 'the only fast target is denied to eu');
    const unknown = await post('/alias', { 'x-team': 'eu' }, chat({ model: 'nope' }));
    assert.equal(unknown.status, 400);
    assert.deepEqual(unknown.json, { error: { message: 'model not configured' } });
    assertDenied(await post('/alias', { 'x-team': 'nobody' }, chat({ model: 'nope' })), 'denied before the alias is looked up');
  });
});

describe('acls: PDK calls and what the local gateway cannot show', () => {
  const upstream = (): string => a.url;

  async function run(config: Omit<PluginConfig, '__plugin_id'>, req: FakeClientRequest): Promise<FakePdk> {
    const kong = new FakePdk({ path: '/v1/chat/completions', body: chat(), ...req });
    await new AiProxyAdvanced({ __plugin_id: `acl-${Math.random()}`, ...config }).access(kong);
    return kong;
  }

  const clientCalls = (k: FakePdk): string[] => k.calls.filter((c) => c.startsWith('kong.client.') || c === 'kong.request.get_path');

  test('a config without acls (or with model_alias only) makes no extra PDK call', async () => {
    const plain = await run({ targets: [openai(upstream())] }, {});
    assert.equal(plain.exited?.status, 200);
    const aliased = await run({ targets: [openai(upstream(), 'gpt-4o-mini', { model_alias: 'fast' })] }, { body: chat({ model: 'fast' }) });
    assert.equal(aliased.exited?.status, 200);
    assert.deepEqual(aliased.calls, plain.calls);
    assert.deepEqual(clientCalls(plain), []);
  });

  test('each fact is read once, and only when a rule needs it', async () => {
    const header = await run({ targets: [openai(upstream())], acls: { allow: [rule({ type: 'header', key: 'x', values: ['1'] })] } }, { headers: { x: '1' } });
    assert.deepEqual(clientCalls(header), []);
    const all = await run(
      {
        targets: [openai(upstream()), openai(upstream())],
        acls: {
          allow: [rule({ type: 'consumer', values: ['u'] }, { type: 'ip', values: ['127.0.0.1'] }), rule({ type: 'path', values: ['/v1/*'] }, { type: 'consumer_group', values: ['g'] })],
          deny: [rule({ type: 'ip', values: ['10.0.0.0/8'] })],
        },
      },
      { consumer: { id: 'i', username: 'u' } },
    );
    assert.equal(all.exited?.status, 200);
    assert.deepEqual(clientCalls(all).sort(), ['kong.client.get_consumer', 'kong.client.get_consumer_groups', 'kong.client.get_forwarded_ip', 'kong.request.get_path']);
  });

  test("a fact from Kong is not asked for when the rules reading it already fail on header, model or provider", async () => {
    // "gpt-4o for gold only, gpt-4o-mini for all" on a target taking the request's model: a gpt-4o-mini request
    // needs no consumer groups.
    const { name: _name, ...anyModel } = openai(upstream()).model;
    const tiers = {
      targets: [{ ...openai(upstream()), model: anyModel }],
      acls: { allow: [rule({ type: 'model', values: ['gpt-4o'] }, { type: 'consumer_group', values: ['gold'] }), rule({ type: 'model', values: ['gpt-4o-mini'] })] },
    };
    const mini = await run(tiers, { body: chat({ model: 'gpt-4o-mini' }) });
    assert.equal(mini.exited?.status, 200);
    assert.deepEqual(clientCalls(mini), []);
    const big = await run(tiers, { body: chat({ model: 'gpt-4o' }), consumerGroups: [{ id: 'g', name: 'gold' }] });
    assert.equal(big.exited?.status, 200);
    assert.deepEqual(clientCalls(big), ['kong.client.get_consumer_groups']);
    assert.equal((await run(tiers, { body: chat({ model: 'gpt-4o' }), consumerGroups: [{ id: 's', name: 'silver' }] })).exited?.status, 403);
    // A deny rule on a header and the client address: the address only when the header matches.
    const team = { targets: [openai(upstream())], acls: { deny: [rule({ type: 'header', key: 'x-team', values: ['contractors'] }, { type: 'ip', values: ['10.0.0.0/8'] })] } };
    const noHeader = await run(team, { ip: '10.1.2.3' });
    assert.equal(noHeader.exited?.status, 200);
    assert.deepEqual(clientCalls(noHeader), []);
    const contractor = await run(team, { headers: { 'x-team': 'contractors' }, ip: '10.1.2.3' });
    assert.equal(contractor.exited?.status, 403);
    assert.deepEqual(clientCalls(contractor), ['kong.client.get_forwarded_ip']);
    // Per target: a provider none of the targets has makes the rule false everywhere; one of them has it, asked.
    const other = { targets: [openai(upstream())], acls: { deny: [rule({ type: 'provider', values: ['mistral'] }, { type: 'consumer', values: ['u'] })] } };
    const none = await run(other, { consumer: { id: 'i', username: 'u' } });
    assert.equal(none.exited?.status, 200);
    assert.deepEqual(clientCalls(none), []);
    const mixed = { ...other, targets: [openai(upstream()), mistral(upstream())] };
    const some = await run(mixed, { consumer: { id: 'i', username: 'u' } });
    assert.equal(some.exited?.status, 200, 'the openai target still serves');
    assert.deepEqual(clientCalls(some), ['kong.client.get_consumer']);
  });

  test('consumer_group (Kong Enterprise get_consumer_groups): by name or id, any of the groups', async () => {
    const config = { targets: [openai(upstream())], acls: { allow: [rule({ type: 'consumer_group', values: ['gold'] })], deny: [rule({ type: 'consumer_group', key: 'id', values: ['g-banned'] })] } };
    assert.equal((await run(config, { consumerGroups: [{ id: 'g-1', name: 'silver' }, { id: 'g-2', name: 'gold' }] })).exited?.status, 200);
    assert.equal((await run(config, { consumerGroups: [{ id: 'gold', name: 'by-id' }] })).exited?.status, 200, 'no key: id or name');
    assert.equal((await run(config, { consumerGroups: [{ id: 'g-2', name: 'gold' }, { id: 'g-banned', name: 'x' }] })).exited?.status, 403);
    assert.equal((await run(config, { consumerGroups: [{ id: 'g-1', name: 'silver' }] })).exited?.status, 403);
    assert.equal((await run(config, { consumerGroups: null })).exited?.status, 403);
  });

  test('ip: IPv6 ranges, and an IPv4 client seen as ::ffff:a.b.c.d matches IPv4 ranges', async () => {
    const config = { targets: [openai(upstream())], acls: { allow: [rule({ type: 'ip', values: ['10.0.0.0/8'] })], deny: [rule({ type: 'ip', values: ['2001:db8::/32'] })] } };
    assert.equal((await run(config, { ip: '::ffff:10.1.2.3' })).exited?.status, 200);
    assert.equal((await run(config, { ip: '10.200.0.1' })).exited?.status, 200);
    assert.equal((await run(config, { ip: '11.0.0.1' })).exited?.status, 403);
    const v6 = { targets: [openai(upstream())], acls: { deny: [rule({ type: 'ip', values: ['2001:db8::/32'] })] } };
    assert.equal((await run(v6, { ip: '2001:db8:1::5' })).exited?.status, 403);
    assert.equal((await run(v6, { ip: '2001:db9::5' })).exited?.status, 200);
  });

  test('model: a rule may name an alias or the model.name it stands for', async () => {
    const targets = [openai(upstream(), 'gpt-4o-mini', { model_alias: 'fast' })];
    const denyName = { targets, acls: { deny: [rule({ type: 'model', values: ['gpt-4o-mini'] })] } };
    const denyAlias = { targets, acls: { deny: [rule({ type: 'model', values: ['fast'] })] } };
    for (const config of [denyName, denyAlias]) {
      assert.equal((await run(config, { body: chat({ model: 'fast' }) })).exited?.status, 403);
      assert.equal((await run(config, { body: chat() })).exited?.status, 403, 'no model: the target would still run it');
    }
    const allowAlias = { targets, acls: { allow: [rule({ type: 'model', values: ['fast'] })] } };
    assert.equal((await run(allowAlias, { body: chat({ model: 'fast' }) })).exited?.status, 200);
  });

  test('multipart bodies (audio, uploads): the form field `model` is the requested model for acls and model_alias', async () => {
    const boundary = 'b0undary';
    const form = (model: string): Buffer =>
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\n${model}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav\r\n\r\nx\r\n--${boundary}--\r\n`,
      );
    const audio = (url: string, name: string | undefined, extra: Partial<TargetConfig['model']> = {}): TargetConfig => ({
      route_type: 'audio/v1/audio/transcriptions',
      model: { provider: 'openai', ...(name ? { name } : {}), options: { upstream_url: `${url}/v1/audio/transcriptions` }, ...extra },
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
    });
    const req = (model: string): FakeClientRequest => ({
      path: '/v1/audio/transcriptions',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: form(model),
    });
    // A target without model.name runs the model the form names: a deny rule on it must see the form's field.
    const deny = { targets: [audio(upstream(), undefined)], acls: { deny: [rule({ type: 'model', values: ['whisper-1'] })] } };
    assert.equal((await run(deny, req('whisper-1'))).exited?.status, 403);
    const aliased = { targets: [audio(a.url, 'whisper-a', { model_alias: 'ta' }), audio(b.url, 'whisper-b', { model_alias: 'tb' })] };
    const unknown = await run(aliased, req('nope'));
    assert.equal(unknown.exited?.status, 400);
    assert.match(unknown.exited?.body ?? '', /model not configured/);
    const before = b.requests.length;
    for (let i = 0; i < 4; i++) assert.equal((await run(aliased, req('tb'))).exited?.status, 200, 'the alias picks its target, whatever the balancer');
    assert.equal(b.requests.length - before, 4);
    // The alias never reaches the provider: the form's model part carries model.name, the file part as sent.
    const sent = b.requests.at(-1)!;
    const back = await new Response(sent.body, { headers: { 'content-type': String(sent.headers['content-type']) } }).formData();
    assert.deepEqual(back.getAll('model'), ['whisper-b']);
    assert.equal(await (back.get('file') as Blob).text(), 'x');
  });

  test('multipart with two Content-Type lines is a 400: the provider, sent both, may read the other boundary\'s model', async () => {
    // The plugin reads the form with the first line's boundary (model `ok`, the `evil` form is a file's bytes);
    // the provider gets both lines joined, and a parser that takes the last `boundary=` (and, as RFC 2046 allows,
    // skips a preamble) reads the `evil` form, whose model a deny rule names.
    const evil = '--evil\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--evil--';
    const body = Buffer.from(
      '--good\r\nContent-Disposition: form-data; name="model"\r\n\r\nok\r\n' +
        `--good\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n${evil}\r\n--good--\r\n`,
    );
    const target: TargetConfig = {
      route_type: 'audio/v1/audio/transcriptions',
      model: { provider: 'openai', options: { upstream_url: `${upstream()}/v1/audio/transcriptions` } },
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-test' },
    };
    const deny = { targets: [target], acls: { deny: [rule({ type: 'model', values: ['whisper-1'] })] } };
    const path = '/v1/audio/transcriptions';
    const one = await run(deny, { path, headers: { 'content-type': 'multipart/form-data; boundary=good' }, body });
    assert.equal(one.exited?.status, 200, `one Content-Type: the form it names is the one checked and sent: ${one.exited?.body}`);
    const before = a.requests.length;
    const two = await run(deny, { path, headers: { 'content-type': ['multipart/form-data; boundary=good', 'multipart/form-data; boundary=evil'] }, body });
    assert.equal(two.exited?.status, 400);
    assert.match(two.exited?.body ?? '', /more than one Content-Type header/);
    assert.equal(a.requests.length, before, 'nothing reached the provider');
  });

  test('model: a templated model.name is matched as this request resolves it (no bypass through the header it reads)', async () => {
    const targets = [openai(upstream(), '$(headers.x-model)')];
    const deny = { targets, acls: { deny: [rule({ type: 'model', values: ['gpt-4o'] })] } };
    assert.equal((await run(deny, { headers: { 'x-model': 'gpt-4o' } })).exited?.status, 403);
    assert.equal((await run(deny, { headers: { 'x-model': 'gpt-4o-mini' } })).exited?.status, 200);
    const aliased = { targets: [openai(upstream(), '$(headers.x-model)', { model_alias: 'fast' })], acls: deny.acls };
    assert.equal((await run(aliased, { headers: { 'x-model': 'gpt-4o' }, body: chat({ model: 'fast' }) })).exited?.status, 403);
    const allow = { targets, acls: { allow: [rule({ type: 'model', values: ['gpt-4o-mini'] })] } };
    assert.equal((await run(allow, { headers: { 'x-model': 'gpt-4o-mini' } })).exited?.status, 200);
  });

  test("path: matched on Kong's normalized path (kong.request.get_path), never the raw one a client can dress up", async () => {
    const config = { targets: [openai(upstream())], acls: { deny: [rule({ type: 'path', values: ['/admin/*'] })] } };
    const k = await run(config, { path: '/v1/../admin/chat', normalizedPath: '/admin/chat' });
    assert.equal(k.exited?.status, 403);
  });
});
