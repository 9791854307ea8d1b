import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FilledConfig, TargetConfig } from '../../schemas/config';
import { BodyTooLargeError, InvalidRequestError, UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import { BAD_JSON_MESSAGE, parseRequestBody } from '../../plugins/ai-proxy-advanced/engine/parse-request';
import { normalizeHeaders, parseQuery, type ClientRequest } from '../../plugins/ai-proxy-advanced/engine/pdk';
import { buildAttemptContext } from '../../plugins/ai-proxy-advanced/engine/target-context';
import { hasTemplates, resolveModelTemplates } from '../../plugins/ai-proxy-advanced/engine/templating';
import { validConfig } from '../helpers/filled-config';

function client(over: Partial<ClientRequest> = {}): ClientRequest {
  return {
    body: Buffer.alloc(0),
    headers: new Map(),
    path: '/chat',
    rawQuery: '',
    query: {},
    method: 'POST',
    uriCaptures: {},
    ...over,
  };
}

const chatTarget: TargetConfig = { route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } };
const config: FilledConfig = validConfig({ targets: [chatTarget] });

function ctxOf(body: Record<string, unknown>, target: TargetConfig = chatTarget, cfg: FilledConfig = config, c = client()) {
  return buildAttemptContext({ config: target, templated: hasTemplates(target.model) }, { raw: Buffer.from(JSON.stringify(body)), json: body }, c, cfg);
}

function rejects(fn: () => unknown, cls: new (...a: never[]) => Error, message: string): void {
  assert.throws(fn, (e: unknown) => e instanceof cls && (e as Error).message === message);
}

describe('parsing the client body', () => {
  test('a JSON object body is parsed once and kept with its raw bytes', () => {
    const raw = Buffer.from('{"messages":[{"role":"user","content":"hi"}]}');
    const p = parseRequestBody(raw, 'application/json', 1024);
    assert.equal(p.raw, raw);
    assert.deepEqual(p.json, { messages: [{ role: 'user', content: 'hi' }] });
  });

  test('a missing Content-Type is treated as JSON, as Kong defaults it (Kong issue #14536)', () => {
    assert.deepEqual(parseRequestBody(Buffer.from('{"a":1}'), undefined, 0).json, { a: 1 });
  });

  test("bad JSON, non-objects and non-JSON content types get Kong's 400 text", () => {
    for (const [body, ct] of [['{bad', 'application/json'], ['[1,2]', 'application/json'], ['"x"', undefined], ['', undefined], ['{"a":1}', 'text/plain']] as const) {
      rejects(() => parseRequestBody(Buffer.from(body), ct, 0), InvalidRequestError, BAD_JSON_MESSAGE);
    }
  });

  test('a body over max_request_body_size is refused with 413 naming the limit, and 0 means unlimited', () => {
    const big = Buffer.from(JSON.stringify({ prompt: 'x'.repeat(100) }));
    assert.throws(() => parseRequestBody(big, 'application/json', 50), (e: unknown) => e instanceof BodyTooLargeError && /max_request_body_size \(50\)/.test((e as Error).message) && (e as BodyTooLargeError).status === 413);
    assert.ok(parseRequestBody(big, 'application/json', 0).json);
  });

  test('multipart bodies are refused by name rather than proxied unparsed', () => {
    assert.throws(() => parseRequestBody(Buffer.from('--x'), 'multipart/form-data; boundary=x', 0), UnsupportedFeatureError);
  });
});

describe('reading values the way Kong hands them over', () => {
  test('header values arrive as arrays (fix_mmap), an empty table as [], names lower-cased', () => {
    const h = normalizeHeaders({ 'X-One': ['a', 'b'], 'content-type': 'application/json', flag: true });
    assert.deepEqual(h.get('x-one'), ['a', 'b']);
    assert.deepEqual(h.get('content-type'), ['application/json']);
    assert.deepEqual(h.get('flag'), ['']);
    assert.equal(normalizeHeaders([]).size, 0);
  });

  test('repeated query arguments keep every value', () => {
    assert.deepEqual(parseQuery('a=1&b=2&a=3'), { a: ['1', '3'], b: '2' });
  });
});

describe('templating model name and options', () => {
  const sources = {
    header: (n: string) => ({ 'x-model': 'gpt-4o-mini', 'x-instance': 'eu' } as Record<string, string>)[n.toLowerCase()],
    queryArg: (n: string) => ({ deployment: 'dep-1' } as Record<string, string>)[n],
    uriCapture: (n: string) => ({ model: 'from-path' } as Record<string, string>)[n],
  };

  test('headers, query params and URI captures are substituted, keeping text around the placeholder', () => {
    const m = resolveModelTemplates(
      { provider: 'azure', name: '$(headers.x-model)', options: { azure_instance: 'inst-$(headers.x-instance)', azure_deployment_id: '$(query_params.deployment)', upstream_path: '/p/$(uri_captures.model)/x', max_tokens: 5 } },
      sources,
    );
    assert.equal(m.name, 'gpt-4o-mini');
    assert.equal(m.options?.azure_instance, 'inst-eu');
    assert.equal(m.options?.azure_deployment_id, 'dep-1');
    assert.equal(m.options?.upstream_path, '/p/from-path/x');
    assert.equal(m.options?.max_tokens, 5);
  });

  test("errors use Kong's texts", () => {
    rejects(() => resolveModelTemplates({ provider: 'openai', name: '$(headers.missing)' }, sources), InvalidRequestError, 'headers key missing was not provided');
    rejects(() => resolveModelTemplates({ provider: 'openai', name: '$(cookies.x)' }, sources), InvalidRequestError, "source 'cookies' is not supported");
    rejects(() => resolveModelTemplates({ provider: 'openai', name: '$(headers)' }, sources), InvalidRequestError, "cannot parse expression for field '$(headers)'");
    rejects(() => resolveModelTemplates({ provider: 'openai', name: '$(a.b.c)' }, sources), InvalidRequestError, "cannot parse expression for field '$(a.b.c)'");
  });

  test('a model without placeholders is recognised once, so requests skip templating', () => {
    assert.equal(hasTemplates({ provider: 'openai', name: 'gpt-4', options: { max_tokens: 3 } }), false);
    assert.equal(hasTemplates({ provider: 'openai', options: { gemini: { project_id: '$(headers.p)' } } }), true);
  });
});

describe('per-target request checks (Kong normalize-request order and texts)', () => {
  test('a chat body needs a non-empty messages array, a completions body a string prompt', () => {
    rejects(() => ctxOf({ messages: [] }), InvalidRequestError, "request body doesn't contain valid prompts");
    rejects(() => ctxOf({ foo: 1 }), InvalidRequestError, "request body doesn't contain valid prompts");
  });

  test('a body in the other format is refused for the route type', () => {
    rejects(() => ctxOf({ prompt: 'hi' }), InvalidRequestError, '[llm/v1/completions] message format is not compatible with [llm/v1/chat] route type');
    rejects(() => ctxOf({ prompt: 'hi', messages: [{ role: 'user', content: 'x' }] }), InvalidRequestError, 'request matches multiple LLM request formats');
  });

  test("a request model different from the configured one is refused with Kong's text; the same or empty is fine", () => {
    rejects(() => ctxOf({ model: 'gpt-3.5', messages: [{ role: 'user', content: 'x' }] }), InvalidRequestError, 'cannot use own model - must be: gpt-4o');
    assert.equal(ctxOf({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).ctx.model, 'gpt-4o');
    assert.equal(ctxOf({ model: '', messages: [{ role: 'user', content: 'x' }] }).ctx.model, 'gpt-4o');
  });

  test('without a configured name the request model is used, and without either the request is refused', () => {
    const t: TargetConfig = { route_type: 'llm/v1/chat', model: { provider: 'openai' } };
    const a = ctxOf({ model: 'mine', messages: [{ role: 'user', content: 'x' }] }, t);
    assert.equal(a.ctx.model, 'mine');
    assert.equal(a.target.model.name, 'mine');
    assert.equal(t.model.name, undefined, 'the config object is not mutated');
    rejects(() => ctxOf({ messages: [{ role: 'user', content: 'x' }] }, t), InvalidRequestError, 'model parameter not found in request, nor in gateway configuration');
  });

  test('stream requests: deny answers 400 as Kong; otherwise the context says stream, and include_usage', () => {
    const body = { stream: true, messages: [{ role: 'user', content: 'x' }] };
    rejects(() => ctxOf(body, chatTarget, validConfig({ targets: [chatTarget], response_streaming: 'deny' })), InvalidRequestError, 'response streaming is not enabled for this LLM');
    assert.equal(ctxOf(body).ctx.stream, true);
    assert.equal(ctxOf(body).ctx.includeUsage, false);
    assert.equal(ctxOf({ ...body, stream_options: { include_usage: true } }).ctx.includeUsage, true);
    assert.equal(ctxOf({ messages: [{ role: 'user', content: 'x' }] }, chatTarget, validConfig({ targets: [chatTarget], response_streaming: 'always' })).ctx.stream, true);
    assert.equal(ctxOf({ messages: [{ role: 'user', content: 'x' }] }).ctx.stream, false);
  });

  test('embeddings need an input; preserve takes any JSON object', () => {
    const emb: TargetConfig = { route_type: 'llm/v1/embeddings', model: { provider: 'openai', name: 'text-embedding-3-small' } };
    assert.equal(ctxOf({ input: 'hello' }, emb).ctx.routeType, 'llm/v1/embeddings');
    rejects(() => ctxOf({ messages: [{ role: 'user', content: 'x' }] }, emb), InvalidRequestError, "request body doesn't contain valid prompts");
    const pres: TargetConfig = { route_type: 'preserve', model: { provider: 'openai' } };
    assert.equal(ctxOf({ anything: true }, pres).ctx.model, '');
  });

  test('templated model names resolve per request from the client request', () => {
    const t: TargetConfig = { route_type: 'llm/v1/chat', model: { provider: 'openai', name: '$(headers.x-model)' } };
    const c = client({ headers: new Map([['x-model', ['gpt-4o-mini']]]) });
    assert.equal(ctxOf({ messages: [{ role: 'user', content: 'x' }] }, t, config, c).ctx.model, 'gpt-4o-mini');
    rejects(() => ctxOf({ model: 'other', messages: [{ role: 'user', content: 'x' }] }, t, config, c), InvalidRequestError, 'cannot use own model - must be: gpt-4o-mini');
  });
});
