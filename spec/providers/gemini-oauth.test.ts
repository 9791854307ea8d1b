/**
 * GCP service-account OAuth for Gemini/Vertex against a local token server (127.0.0.1) speaking Google's token
 * endpoint protocol: the JWT is verified with the service account's public key, tokens are cached until shortly
 * before expiry (fake clock), and concurrent requests share one exchange.
 */
import assert from 'node:assert/strict';
import { createVerify, generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { AuthError } from '../../plugins/ai-proxy-advanced/errors';
import { geminiDriver } from '../../plugins/ai-proxy-advanced/providers/gemini';
import type { SerializedRequest, SignDeps } from '../../plugins/ai-proxy-advanced/providers/provider';
import { makeCtx, target } from '../helpers/providers-fixtures';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const EMAIL = 'svc@project.iam.gserviceaccount.com';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base = '';
const hits: Hit[] = [];
let issued = 0;

before(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      try {
        answer(req, res, body);
      } catch (err) {
        res.writeHead(500).end(String(err));
      }
    });
  });
  const answer = (req: IncomingMessage, res: ServerResponse, body: string): void => {
    {
      hits.push({ path: req.url ?? '', headers: req.headers, body });
      const send = (status: number, obj: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(obj));
      };
      if (req.url === '/deny') return send(401, { error: 'invalid_grant' });
      if (req.url === '/metadata') {
        if (req.headers['metadata-flavor'] !== 'Google') return send(403, {});
        return send(200, { access_token: `md-${++issued}`, expires_in: 3599, token_type: 'Bearer' });
      }
      const form = new URLSearchParams(body);
      const jwt = form.get('assertion') ?? '';
      const [h, p, s] = jwt.split('.');
      const ok = form.get('grant_type') === 'urn:ietf:params:oauth:grant-type:jwt-bearer'
        && createVerify('RSA-SHA256').update(`${h}.${p}`).verify(publicKey, Buffer.from(s ?? '', 'base64url'));
      const claims = JSON.parse(Buffer.from(p ?? '', 'base64url').toString()) as Record<string, unknown>;
      if (!ok || claims['iss'] !== EMAIL || claims['aud'] !== `${base}${req.url}` || claims['scope'] !== 'https://www.googleapis.com/auth/cloud-platform') {
        return send(400, { error: 'invalid_grant' });
      }
      send(200, { access_token: `tok-${++issued}`, expires_in: 3600, token_type: 'Bearer' });
    }
  };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => new Promise<void>((r) => {
  server.closeAllConnections();
  server.close(() => r());
}));

function deps(clock: { now: number }, env: Record<string, string> = {}): SignDeps {
  return {
    env,
    now: () => clock.now,
    async fetchJson(url, init) {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
      return { status: res.status, body: (await res.json()) as unknown };
    },
  };
}

const REQ: SerializedRequest = { method: 'POST', url: 'https://us-central1-aiplatform.googleapis.com/v1/x', headers: { 'content-type': 'application/json' }, body: Buffer.from('{}') };

function vertexCtx(tokenPath: string, json: string | null = JSON.stringify({ client_email: EMAIL, private_key: PEM, private_key_id: 'k1' })) {
  return makeCtx(
    target('gemini', 'llm/v1/chat', 'gemini-1.5-pro', { gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'p', location_id: 'us-central1' } }, {
      gcp_use_service_account: true,
      ...(json ? { gcp_service_account_json: json } : {}),
      gcp_oauth_token_url: `${base}${tokenPath}`,
      gcp_metadata_url: `${base}/metadata`,
    }),
  );
}

describe('Gemini GCP service-account auth', () => {
  it('exchanges a signed JWT at gcp_oauth_token_url and caches the token until shortly before it expires', async () => {
    const clock = { now: Date.parse('2026-01-01T00:00:00Z') };
    const ctx = vertexCtx('/token-a');
    const before = hits.length;
    const first = await geminiDriver.sign!(REQ, ctx, deps(clock));
    const token = first.headers['authorization'];
    assert.match(token ?? '', /^Bearer tok-\d+$/);
    clock.now += 50 * 60_000;
    assert.equal((await geminiDriver.sign!(REQ, ctx, deps(clock))).headers['authorization'], token, 'cached');
    assert.equal(hits.length - before, 1);
    clock.now += 10 * 60_000; // 60 minutes after issue: inside the refresh margin
    const refreshed = await geminiDriver.sign!(REQ, ctx, deps(clock));
    assert.notEqual(refreshed.headers['authorization'], token);
    assert.equal(hits.length - before, 2);
    assert.equal(hits.at(-1)?.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  it('shares one token exchange between concurrent requests', async () => {
    const clock = { now: Date.parse('2026-02-01T00:00:00Z') };
    const ctx = vertexCtx('/token-b');
    const before = hits.length;
    const all = await Promise.all([1, 2, 3, 4].map(() => geminiDriver.sign!(REQ, ctx, deps(clock))));
    assert.equal(new Set(all.map((r) => r.headers['authorization'])).size, 1);
    assert.equal(hits.length - before, 1);
  });

  it('reads the key from GCP_SERVICE_ACCOUNT when the config has none', async () => {
    const clock = { now: Date.parse('2026-03-01T00:00:00Z') };
    const ctx = vertexCtx('/token-c', null);
    const env = { GCP_SERVICE_ACCOUNT: JSON.stringify({ client_email: EMAIL, private_key: PEM }) };
    const signed = await geminiDriver.sign!(REQ, ctx, deps(clock, env));
    assert.match(signed.headers['authorization'] ?? '', /^Bearer tok-/);
    assert.equal(hits.at(-1)?.path, '/token-c');
  });

  it('asks the metadata server when there is no service-account key at all', async () => {
    const clock = { now: Date.parse('2026-04-01T00:00:00Z') };
    const signed = await geminiDriver.sign!(REQ, vertexCtx('/unused', null), deps(clock));
    assert.match(signed.headers['authorization'] ?? '', /^Bearer md-/);
    assert.equal(hits.at(-1)?.headers['metadata-flavor'], 'Google');
  });

  it('fails with AuthError, without the key, when the token endpoint refuses', async () => {
    const clock = { now: Date.parse('2026-05-01T00:00:00Z') };
    await assert.rejects(geminiDriver.sign!(REQ, vertexCtx('/deny'), deps(clock)), (e: unknown) => {
      assert.ok(e instanceof AuthError);
      assert.equal(e.message, 'GCP token request (auth.gcp_oauth_token_url) failed with status 401');
      assert.ok(!e.message.includes('PRIVATE KEY'));
      // The client sees the message; the token endpoint's URL is kept for the logs only (issue 10).
      assert.ok(!/https?:\/\//.test(e.message), e.message);
      assert.match(String((e.cause as Error).message), /\/deny answered status 401$/);
      return true;
    });
  });

  it('leaves requests alone when gcp_use_service_account is off', async () => {
    const ctx = makeCtx(target('gemini', 'llm/v1/chat', 'gemini-pro'));
    assert.deepEqual(await geminiDriver.sign!(REQ, ctx, deps({ now: 0 })), REQ);
  });
});
