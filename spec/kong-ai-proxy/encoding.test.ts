/**
 * Kong's spec/03-plugins/38-ai-proxy/08-encoding_integration_spec.lua, restated against the local gateway: the
 * provider answers gzipped, the client sends `Accept-Encoding: gzip, identity`, and every answer comes back
 * gzipped; inflated, it is what Kong's test expects. A client that does not ask gets identity bodies.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, chatCompletion, type Behaviour } from '../helpers/engine-upstream';

let up: EngineUpstream;
let gw: EngineGateway;

/** Kong's format_stencils, by mock path: every answer deflated (gzip) by the provider. */
const ANSWERS: Record<string, Behaviour> = {
  '/good': { kind: 'json', gzip: true, body: chatCompletion('gpt-4') },
  '/bad_response': { kind: 'json', gzip: true, body: { nothing_object: { not_interesting_tag_names: "bad string", and_an_array: ['because', 'why', 'not'] } } },
  '/unauthorized': { kind: 'json', gzip: true, status: 401, body: { error: { message: 'bad API key' } } },
  '/error': { kind: 'json', gzip: true, status: 500, body: { error: { message: 'some failure' } } },
  '/error_faulty': { kind: 'json', gzip: true, status: 500, body: { bad_message: { bad_error: { unauthorized: 'some failure with weird json' } } } },
};

before(async () => {
  up = await EngineUpstream.start((req) => ANSWERS[(req.url.split('?')[0] ?? '').replace(/\/v1\/chat\/completions$/, '')] ?? { kind: 'json', status: 404, body: {} });
  gw = await startEngineGateway(
    Object.keys(ANSWERS).map((p) => ({
      path: `/openai/llm/v1/chat${p}`,
      config: {
        targets: [
          {
            route_type: 'llm/v1/chat' as const,
            model: { provider: 'openai' as const, name: 'gpt-4', options: { upstream_url: `${up.url}${p}/v1/chat/completions` } },
            auth: { header_name: 'Authorization', header_value: 'Bearer openai-key' },
          },
        ],
      },
    })),
  );
});
after(async () => {
  await gw?.close();
  await up?.close();
});

/** Raw bytes and headers (fetch would inflate them). */
function post(path: string, headers: Record<string, string>): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(`${gw.proxy}${path}`);
  const body = JSON.stringify({ messages: [{ role: 'user', content: 'What is 1 + 1?' }] });
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'content-type': 'application/json', ...headers }, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 10 s')));
    req.on('error', reject);
    req.end(body);
  });
}

const GZIP = { 'accept-encoding': 'gzip, identity' };

async function gzipped(path: string, status: number): Promise<unknown> {
  const r = await post(path, GZIP);
  assert.equal(r.status, status);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.match(String(r.headers['vary']), /Accept-Encoding/i);
  return JSON.parse(gunzipSync(r.body).toString('utf8'));
}

describe('08-encoding_integration_spec.lua', () => {
  test('"200 from LLM": gzipped, inflates to the OpenAI answer', async () => {
    const json = (await gzipped('/openai/llm/v1/chat/good', 200)) as { choices: Array<{ message: { content: string } }>; model: string };
    assert.equal(json.model, 'gpt-4');
    assert.equal(typeof json.choices[0]?.message.content, 'string');
  });

  test('"200 from LLM but with faulty response format": gzipped 500 with Kong\'s text', async () => {
    assert.deepEqual(await gzipped('/openai/llm/v1/chat/bad_response', 500), {
      error: { message: "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response" },
    });
  });

  test('"401 from LLM": gzipped, as the provider said it', async () => {
    assert.deepEqual(await gzipped('/openai/llm/v1/chat/unauthorized', 401), { error: { message: 'bad API key' } });
  });

  test('"500 from LLM": gzipped', async () => {
    assert.deepEqual(await gzipped('/openai/llm/v1/chat/error', 500), { error: { message: 'some failure' } });
  });

  test('"500 from LLM but with faulty response format": gzipped, passed through', async () => {
    assert.deepEqual(await gzipped('/openai/llm/v1/chat/error_faulty', 500), { bad_message: { bad_error: { unauthorized: 'some failure with weird json' } } });
  });

  test('a client that does not accept gzip (or refuses it with q=0) gets identity', async () => {
    for (const headers of [{}, { 'accept-encoding': 'gzip;q=0, identity' }] as Array<Record<string, string>>) {
      const r = await post('/openai/llm/v1/chat/unauthorized', headers);
      assert.equal(r.status, 401);
      assert.equal(r.headers['content-encoding'], undefined);
      assert.deepEqual(JSON.parse(r.body.toString('utf8')), { error: { message: 'bad API key' } });
    }
  });
});
