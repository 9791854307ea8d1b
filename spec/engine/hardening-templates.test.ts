/**
 * Issue 11, plugin half: a template value can never move the request (scheme, user info, host, port), values
 * in path segments are encoded or refused, every templated value is header-safe, deep JSON is a 400, and the
 * Retry-After hold is capped. Rules first at unit level (templating.ts, parse-request.ts, health.ts), then the
 * attacks of the issue through the local gateway and the real plugin server: each refusal is a 400 naming the
 * template, and neither the configured upstream nor the attacker's server sees a request.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { ModelConfig, TargetConfig } from '../../schemas/config';
import { InvalidRequestError } from '../../plugins/ai-proxy-advanced/errors';
import { misplacedTemplates, placementOf, resolveModelTemplates, type TemplateSources } from '../../plugins/ai-proxy-advanced/engine/templating';
import { MAX_JSON_DEPTH, nestedDeeperThan, parseRequestBody } from '../../plugins/ai-proxy-advanced/engine/parse-request';
import { parseRetryAfter, RETRY_AFTER_CAP_MS } from '../../plugins/ai-proxy-advanced/engine/health';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { chatCompletion, EngineUpstream } from '../helpers/engine-upstream';

function sources(values: Record<string, string>): TemplateSources {
  return { header: (n) => values[n.toLowerCase()], queryArg: (n) => values[n], uriCapture: (n) => values[n] };
}

function resolveUrl(url: string, value: string): string | InvalidRequestError {
  try {
    return resolveModelTemplates({ provider: 'openai', name: 'm', options: { upstream_url: url } }, sources({ x: value })).options?.upstream_url as string;
  } catch (err) {
    if (err instanceof InvalidRequestError) return err;
    throw err;
  }
}

describe('where a template value lands in upstream_url', () => {
  test('right after host:port it must be a path: the issue\'s `@host:port/steal` is refused, a path is taken', () => {
    const refused = resolveUrl('http://api.example:8080$(headers.x)', '@127.0.0.1:9999/steal');
    assert.ok(refused instanceof InvalidRequestError);
    assert.equal(refused.message, "template '$(headers.x)' in model.options.upstream_url: the value must be a path starting with '/'");
    assert.equal(resolveUrl('http://api.example:8080$(headers.x)', '/v1/chat/completions'), 'http://api.example:8080/v1/chat/completions');
    for (const v of ['/a/../../x', '/a/b?c=1', '/a#b', '/a\\b', '/a@b', ':80/x', '.evil.example/x']) {
      assert.ok(resolveUrl('http://api.example:8080$(headers.x)', v) instanceof InvalidRequestError, v);
    }
  });

  test('in the host a value must be one DNS label', () => {
    assert.equal(resolveUrl('https://$(headers.x).openai.example/v1', 'eu-west'), 'https://eu-west.openai.example/v1');
    for (const v of ['evil.example', 'a@b', 'a:1', 'a/b', '', '-a', 'a'.repeat(64), '127.0.0.1', '[::1]']) {
      assert.ok(resolveUrl('https://$(headers.x).openai.example/v1', v) instanceof InvalidRequestError, v);
    }
    // A host that is only the template: still one label, so no dots, ports or user info can come in.
    assert.ok(resolveUrl('http://$(headers.x)/v1', 'evil.example:80') instanceof InvalidRequestError);
    assert.ok(resolveUrl('http://$(headers.x)', 'a@evil.example') instanceof InvalidRequestError);
  });

  test('in scheme, user info or port no value is taken, and the config is named once at config time', () => {
    for (const url of ['$(headers.x)://h/p', 'http://$(headers.x)@h/p', 'http://u:$(headers.x)@h/p', 'http://h:$(headers.x)/p', 'http://[::1]:$(headers.x)/p']) {
      const r = resolveUrl(url, '80');
      assert.ok(r instanceof InvalidRequestError, url);
      assert.match(r.message, /^template '\$\(headers\.x\)' in model\.options\.upstream_url: a template may not set the URL's/);
    }
    assert.deepEqual(misplacedTemplates({ provider: 'openai', options: { upstream_url: 'http://h:$(headers.x)/p' } }), [
      { field: ['model', 'options', 'upstream_url'], message: "a template may not set the URL's port" },
    ]);
    assert.deepEqual(misplacedTemplates({ provider: 'openai', options: { upstream_url: 'http://h/$(headers.x)' } }), []);
  });

  test('in a path segment `/ \\ ? # @ ..` are refused and the rest is percent-encoded', () => {
    assert.equal(resolveUrl('http://h/deployments/$(headers.x)/chat', 'my dep"<1>%'), 'http://h/deployments/my%20dep%22%3C1%3E%25/chat');
    assert.equal(resolveUrl('http://h/models/$(headers.x):generate', 'llama3:8b'), 'http://h/models/llama3:8b:generate');
    for (const v of ['a/b', 'a\\b', 'a?b', 'a#b', 'a@b', '..', 'a..b', '.']) {
      const r = resolveUrl('http://h/deployments/$(headers.x)/chat', v);
      assert.ok(r instanceof InvalidRequestError, v);
      assert.match(r.message, /may not contain/);
    }
  });

  test('in the query or fragment a value stays one value', () => {
    assert.equal(resolveUrl('http://h/p?api-version=$(headers.x)', '1&key=stolen#x'), 'http://h/p?api-version=1%26key%3Dstolen%23x');
  });

  test('only the first template is replaced (Kong): a second one stays literal text', () => {
    assert.equal(resolveUrl('http://h/$(headers.x)/$(headers.x)', 'a'), 'http://h/a/$(headers.x)');
  });
});

describe('options that become URL parts, and every templated value', () => {
  const model = (options: ModelConfig['options'], name = 'm'): ModelConfig => ({ provider: 'azure', name, options });
  const refuses = (m: ModelConfig, values: Record<string, string>, re: RegExp): void =>
    assert.throws(() => resolveModelTemplates(m, sources(values)), (err: unknown) => err instanceof InvalidRequestError && re.test(err.message));

  test('host-label options take one DNS label; path-segment options no separators', () => {
    assert.equal(resolveModelTemplates(model({ azure_instance: '$(headers.x)' }), sources({ x: 'eu1' })).options?.azure_instance, 'eu1');
    refuses(model({ azure_instance: '$(headers.x)' }), { x: 'evil.example/x?' }, /model\.options\.azure_instance: the value must be a DNS label/);
    refuses(model({ bedrock: { aws_region: '$(headers.x)' } }), { x: 'evil.example#' }, /model\.options\.bedrock\.aws_region/);
    refuses(model({ azure_deployment_id: '$(headers.x)' }), { x: '../../x' }, /model\.options\.azure_deployment_id: the value may not contain/);
    refuses(model({ gemini: { project_id: '$(headers.x)' } }), { x: 'p/../../v1' }, /model\.options\.gemini\.project_id/);
    assert.equal(resolveModelTemplates(model({ gemini: { api_endpoint: '$(headers.x)-aiplatform.googleapis.com' } }), sources({ x: 'us-central1' })).options?.gemini?.api_endpoint, 'us-central1-aiplatform.googleapis.com');
    refuses(model({ gemini: { api_endpoint: '$(headers.x)-aiplatform.googleapis.com' } }), { x: 'evil.example/' }, /must be a DNS label/);
    assert.equal(placementOf('model.options.anthropic_version', '$(headers.x)').kind, 'text');
  });

  test('a template starting upstream_path is a whole path (Kong 05-azure "override path from path params"), each segment checked', () => {
    const path = (v: string): string | null | undefined => resolveModelTemplates(model({ upstream_path: '$(uri_captures.op)' }), sources({ op: v })).options?.upstream_path;
    assert.equal(path('/other/operation'), '/other/operation');
    assert.equal(path('chat/completions'), 'chat/completions');
    assert.equal(path('/a b/c'), '/a%20b/c');
    for (const bad of ['/a/../x', '..', '/a/./b', '/a?b=1', '/a#b', '/a\\b', '/a@b']) refuses(model({ upstream_path: '$(uri_captures.op)' }), { op: bad }, /model\.options\.upstream_path: the value may not contain/);
    // Anywhere else in upstream_path the value is one segment, as before.
    refuses(model({ upstream_path: '/p/$(uri_captures.op)' }), { op: 'a/b' }, /model\.options\.upstream_path: the value may not contain/);
  });

  test('control characters, non-ASCII and overlong values are refused wherever the template is', () => {
    refuses(model({ anthropic_version: '$(headers.x)' }), { x: '2023\r\nx-injected: 1' }, /printable ASCII/);
    refuses(model({}, '$(query_params.x)'), { x: 'gpt\n4' }, /template '\$\(query_params\.x\)' in model\.name: the value may only contain printable ASCII/);
    refuses(model({}, '$(query_params.x)'), { x: 'modèle' }, /printable ASCII/);
    refuses(model({}, '$(headers.x)'), { x: 'a'.repeat(1025) }, /longer than 1024/);
  });

  test('a templated model name keeps `/ @ :` (org/model, name@version, llama3:8b) but not `\\ ? # %` or dot segments', () => {
    for (const ok of ['meta-llama/Llama-3-8B', 'claude-3-5-sonnet@20240620', 'llama3:8b']) {
      assert.equal(resolveModelTemplates(model({}, '$(headers.x)'), sources({ x: ok })).name, ok);
    }
    for (const bad of ['../x', 'a/./b', 'a?b', 'a#b', 'a\\b', '%2e%2e']) refuses(model({}, '$(headers.x)'), { x: bad }, /model name may not contain/);
  });
});

describe('deep JSON and the Retry-After cap', () => {
  const nested = (depth: number): string => `{"messages":[{"role":"user","content":"x"}],"x":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;

  test(`a body nested deeper than ${MAX_JSON_DEPTH} is Kong's bad-JSON 400; brackets inside strings do not count`, () => {
    assert.equal(nestedDeeperThan(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
    assert.equal(nestedDeeperThan(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
    assert.equal(nestedDeeperThan(JSON.stringify({ s: '['.repeat(5000) + '\\"' + '{'.repeat(5000) }), MAX_JSON_DEPTH), false);
    assert.throws(() => parseRequestBody(Buffer.from(nested(4500)), 'application/json', 0), InvalidRequestError);
    assert.equal(parseRequestBody(Buffer.from(nested(MAX_JSON_DEPTH)), 'application/json', 0).json.messages !== undefined, true);
  });

  test('strings are crossed at their closing quote: runs of backslashes, escaped quotes, brackets and text inside', () => {
    // The byte-by-byte scan of the body the indexOf one over its text replaced, as the reference it must agree with.
    const reference = (raw: Buffer, max: number): boolean => {
      let depth = 0;
      let inString = false;
      for (let i = 0; i < raw.length; i++) {
        const c = raw[i] as number;
        if (inString) {
          if (c === 0x5c) i++;
          else if (c === 0x22) inString = false;
        } else if (c === 0x22) inString = true;
        else if (c === 0x7b || c === 0x5b) {
          if (++depth > max) return true;
        } else if (c === 0x7d || c === 0x5d) depth--;
      }
      return false;
    };
    // Deterministic pseudo-random texts (a fixed LCG) over the bytes that matter, around a small limit.
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    const alphabet = ['"', '\\', '[', '[', '[', '{', '{', ']', '}', 'a', 'é'];
    let deep = 0;
    for (let n = 0; n < 3000; n++) {
      const len = 8 + (next() % 60);
      let text = '';
      for (let i = 0; i < len; i++) text += alphabet[next() % alphabet.length];
      const raw = Buffer.from(text);
      const want = reference(raw, 4);
      if (want) deep++;
      assert.equal(nestedDeeperThan(raw.toString('utf8'), 4), want, `for ${JSON.stringify(text)}`);
    }
    assert.ok(deep > 100, `the texts reach past the limit often enough to test it (${deep})`);
    // A string ending in an escaped backslash ends at its quote: the brackets after it count.
    assert.equal(nestedDeeperThan(`{"s":"a\\\\","x":${'['.repeat(20)}${']'.repeat(20)}}`, 5), true);
    // An escaped quote does not end it: the brackets after it are text.
    assert.equal(nestedDeeperThan(`{"s":"a\\"${'['.repeat(20)}"}`, 5), false);
    // Invalid UTF-8 decodes to U+FFFD, never to a quote or a bracket: the text's structure is the body's.
    assert.equal(nestedDeeperThan(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, ...Array(20).fill(0x5b)]).toString('utf8'), 5), true);
  });

  test('Retry-After is held for at most a minute, whatever the provider asks', () => {
    const now = Date.UTC(2026, 0, 1);
    assert.equal(RETRY_AFTER_CAP_MS, 60_000);
    assert.equal(parseRetryAfter('3600', now), 60_000);
    assert.equal(parseRetryAfter(new Date(now + 86_400_000).toUTCString(), now), 60_000);
    assert.equal(parseRetryAfter('7', now), 7_000);
  });
});

describe('through the local gateway and the real plugin server', () => {
  let api: EngineUpstream;
  let attacker: EngineUpstream;
  let limited: EngineUpstream;
  let gw: EngineGateway;
  const SECRET = 'sk-hardening-SECRET';
  const chat = { messages: [{ role: 'user', content: 'hi' }] };
  const target = (upstreamUrl: string, name = 'gpt-4o-mini'): TargetConfig => ({
    route_type: 'llm/v1/chat',
    model: { provider: 'openai', name, options: { upstream_url: upstreamUrl } },
    auth: { header_name: 'Authorization', header_value: `Bearer ${SECRET}` },
  });

  before(async () => {
    [api, attacker, limited] = await Promise.all([EngineUpstream.start(), EngineUpstream.start(), EngineUpstream.start()]);
    gw = await startEngineGateway([
      { path: '/steal', config: { targets: [target(`http://127.0.0.1:${api.port}$(headers.x-path)`)] } },
      { path: '/dep', config: { targets: [target(`${api.url}/deployments/$(headers.x-dep)/v1/chat/completions`)] } },
      { path: '/host', config: { targets: [target(`http://$(headers.x-host):${api.port}/v1/chat/completions`)] } },
      { path: '/model', config: { targets: [target(`${api.url}/v1/chat/completions`, '$(query_params.model)')] } },
      { path: '/own', config: { targets: [{ ...target(`${api.url}/v1/chat/completions`), model: { provider: 'openai', options: { upstream_url: `${api.url}/v1/chat/completions` } } }] } },
      { path: '/plain', config: { targets: [target(`${api.url}/v1/chat/completions`)] } },
      { path: '/limited', config: { targets: [target(`${limited.url}/v1/chat/completions`)] } },
    ]);
  });
  after(async () => {
    await gw.close();
    await Promise.all([api, attacker, limited].map((u) => u.close()));
  });
  beforeEach(() => {
    for (const u of [api, attacker, limited]) u.requests.length = 0;
  });

  async function post(path: string, headers: Record<string, string> = {}, body: string = JSON.stringify(chat)): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
    const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
    const text = await r.text();
    return { status: r.status, json: JSON.parse(text) as Record<string, unknown>, headers: r.headers };
  }
  const messageOf = (j: Record<string, unknown>): string => String((j.error as { message?: string } | undefined)?.message);

  test("the issue's attack: `x-path: @127.0.0.1:<attacker>/steal` is a 400 naming the template; nobody is called", async () => {
    const r = await post('/steal', { 'x-path': `@127.0.0.1:${attacker.port}/steal` });
    assert.equal(r.status, 400);
    // Kong's bail(400) body (normalize-request.lua): {"error":{"message"}}; our code rides in the header.
    assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_INVALID_REQUEST');
    assert.match(messageOf(r.json), /template '\$\(headers\.x-path\)' in model\.options\.upstream_url/);
    assert.equal(attacker.requests.length, 0);
    assert.equal(api.requests.length, 0);
    const ok = await post('/steal', { 'x-path': '/v1/chat/completions' });
    assert.equal(ok.status, 200);
    assert.equal(api.requests[0]?.url, '/v1/chat/completions');
    assert.equal(api.requests[0]?.headers.authorization, `Bearer ${SECRET}`);
  });

  test('a host template takes a DNS label only; a path template is encoded or refused', async () => {
    const host = await post('/host', { 'x-host': `evil.example:${attacker.port}/x?` });
    assert.equal(host.status, 400);
    assert.match(messageOf(host.json), /template '\$\(headers\.x-host\)'.*DNS label/);
    const ok = await post('/host', { 'x-host': 'localhost' });
    assert.equal(ok.status, 200);
    const dots = await post('/dep', { 'x-dep': '..' });
    assert.equal(dots.status, 400);
    const spaced = await post('/dep', { 'x-dep': 'my dep' });
    assert.equal(spaced.status, 200);
    assert.equal(api.requests.at(-1)?.url, '/deployments/my%20dep/v1/chat/completions');
    assert.equal(attacker.requests.length, 0);
  });

  test('control characters in a templated model name, or in the request model, or a request model over 256 characters, are a 400 before any call', async () => {
    const r = await post('/model?model=gpt%0d%0aX-Evil:%201');
    assert.equal(r.status, 400);
    assert.match(messageOf(r.json), /template '\$\(query_params\.model\)' in model\.name/);
    const own = await post('/own', {}, JSON.stringify({ ...chat, model: 'gpt\r\nx-evil: 1' }));
    assert.equal(own.status, 400);
    assert.equal(messageOf(own.json), 'model may not contain control characters');
    // A client-chosen model goes into URLs (Gemini, Bedrock) and their memos: a megabyte one only held memory.
    const long = await post('/own', {}, JSON.stringify({ ...chat, model: 'm'.repeat(257) }));
    assert.equal(long.status, 400);
    assert.equal(messageOf(long.json), 'model is longer than 256 characters');
    assert.equal(api.requests.length, 0);
    const longest = await post('/own', {}, JSON.stringify({ ...chat, model: 'm'.repeat(256) }));
    assert.equal(longest.status, 200);
    api.requests.length = 0;
    // Found by spec/fuzz: a request model outside Latin-1 answered 500 after the provider was called (header).
    const unicode = await post('/own', {}, JSON.stringify({ ...chat, model: 'Ā-modèle' }));
    assert.equal(unicode.status, 200);
    assert.equal(unicode.headers.get('x-kong-llm-model'), null);
    assert.equal(api.requests.length, 1);
    api.requests.length = 0;
    const fine = await post('/model?model=gpt-4o');
    assert.equal(fine.status, 200);
    assert.equal(fine.headers.get('x-kong-llm-model'), 'openai/gpt-4o');
  });

  test('JSON nested 4,500 deep is an OpenAI-style 400, not a 500; 1,000 deep is served', async () => {
    const deep = (d: number): string => `{"messages":[{"role":"user","content":"x"}],"x":${'['.repeat(d - 1)}${']'.repeat(d - 1)}}`;
    const r = await post('/plain', {}, deep(4500));
    assert.equal(r.status, 400);
    assert.equal(r.headers.get('x-ai-proxy-error-code'), 'AIPA_ERR_INVALID_REQUEST');
    assert.equal(typeof messageOf(r.json), 'string');
    assert.equal(api.requests.length, 0);
    const ok = await post('/plain', {}, deep(MAX_JSON_DEPTH));
    assert.equal(ok.status, 200);
    assert.equal(api.requests.length, 1);
  });

  test('`Retry-After: 3600` holds the target for at most a minute: the plugin then answers 429 with Retry-After <= 60', async () => {
    limited.set({ kind: 'json', status: 429, body: { error: { message: 'slow down' } }, headers: { 'retry-after': '3600' } });
    const first = await post('/limited');
    assert.equal(first.status, 429);
    assert.equal(limited.requests.length, 1);
    const held = await post('/limited');
    assert.equal(held.status, 429);
    assert.equal(limited.requests.length, 1, 'the target is held back, not called');
    const after = Number(held.headers.get('retry-after'));
    assert.ok(after >= 1 && after <= 60, `Retry-After ${after}`);
    limited.set({ kind: 'json', body: chatCompletion('gpt-4o-mini') });
  });
});
