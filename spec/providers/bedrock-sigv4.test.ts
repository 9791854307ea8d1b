/**
 * Bedrock SigV4: the signer wrapper against AWS's published SigV4 test-suite vectors (aws-sig-v4-test-suite:
 * get-vanilla, post-vanilla, get-vanilla-query-order-key-case; credentials AKIDEXAMPLE, 20150830T123600Z,
 * us-east-1, service "service"), then the driver's `sign`: credentials and region from config or environment.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { AuthError, ConfigError } from '../../plugins/ai-proxy-advanced/errors';
import { bedrockDriver } from '../../plugins/ai-proxy-advanced/providers/bedrock';
import { signAws } from '../../plugins/ai-proxy-advanced/providers/bedrock/sigv4';
import type { SerializedRequest, SignDeps } from '../../plugins/ai-proxy-advanced/providers/provider';
import { makeCtx, target } from '../helpers/providers-fixtures';

const SUITE = {
  region: 'us-east-1',
  service: 'service',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  date: new Date('2015-08-30T12:36:00Z'),
  applyChecksum: false,
  body: undefined,
  headers: {},
};
const AUTH_PREFIX = 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=';

describe('SigV4 signer against the AWS test suite', () => {
  const vectors: Array<[string, string, string, string]> = [
    ['get-vanilla', 'GET', 'https://example.amazonaws.com/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['post-vanilla', 'POST', 'https://example.amazonaws.com/', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
    ['get-vanilla-query-order-key-case', 'GET', 'https://example.amazonaws.com/?Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
  ];
  for (const [name, method, url, signature] of vectors) {
    it(`reproduces the published ${name} signature`, async () => {
      const h = await signAws({ ...SUITE, method, url });
      assert.equal(h['x-amz-date'], '20150830T123600Z');
      assert.equal(h['authorization'], AUTH_PREFIX + signature);
    });
  }
});

function deps(env: Record<string, string | undefined>, now = Date.parse('2026-01-02T03:04:05Z')): SignDeps {
  return { env, now: () => now, fetchJson: () => Promise.reject(new Error('no network in this test')) };
}

function serialized(url: string, body = '{"messages":[]}'): SerializedRequest {
  return { method: 'POST', url, headers: { 'content-type': 'application/json', accept: 'application/json', 'accept-encoding': 'gzip' }, body: Buffer.from(body) };
}

describe('bedrock driver signing', () => {
  const chat = target('bedrock', 'llm/v1/chat', 'anthropic.claude-3-haiku-20240307-v1:0');

  it('puts the region from AWS_REGION into the URL and signs for service bedrock with the env credentials', async () => {
    const ctx = makeCtx(chat);
    const req = bedrockDriver.toRequest({ messages: [{ role: 'user', content: 'hi' }] }, ctx);
    assert.equal(req.url, 'https://bedrock-runtime.aws-region-from-env.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    const signed = await bedrockDriver.sign!(serialized(req.url), ctx, deps({ AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'sess' }));
    assert.equal(signed.url, 'https://bedrock-runtime.eu-west-3.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse');
    const auth = signed.headers['authorization'] ?? '';
    assert.match(auth, /^AWS4-HMAC-SHA256 Credential=AKIDENV\/20260102\/eu-west-3\/bedrock\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
    assert.equal(signed.headers['x-amz-date'], '20260102T030405Z');
    assert.equal(signed.headers['x-amz-security-token'], 'sess');
    assert.equal(signed.headers['x-amz-content-sha256'], createHash('sha256').update('{"messages":[]}').digest('hex'));
    assert.equal(signed.headers['accept-encoding'], 'gzip', 'unsigned headers are kept');
    assert.ok(!auth.includes('secret'));
  });

  it('prefers configured credentials and region over the environment', async () => {
    const t = target('bedrock', 'llm/v1/chat', 'amazon.nova-lite-v1:0', { bedrock: { aws_region: 'us-west-2' } }, { aws_access_key_id: 'AKIDCONF', aws_secret_access_key: 'conf-secret' });
    const ctx = makeCtx(t);
    const req = bedrockDriver.toRequest({ messages: [{ role: 'user', content: 'hi' }] }, makeCtx(t, { stream: true }));
    assert.equal(req.url, 'https://bedrock-runtime.us-west-2.amazonaws.com/model/amazon.nova-lite-v1%3A0/converse-stream');
    const signed = await bedrockDriver.sign!(serialized(req.url), ctx, deps({ AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'x' }));
    assert.match(signed.headers['authorization'] ?? '', /Credential=AKIDCONF\/20260102\/us-west-2\/bedrock\/aws4_request/);
    assert.equal(signed.headers['x-amz-security-token'], undefined);
  });

  it('signs different bodies differently and the same request identically', async () => {
    const ctx = makeCtx(target('bedrock', 'llm/v1/chat', 'm', { bedrock: { aws_region: 'us-east-1' } }));
    const env = { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' };
    const url = 'https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse';
    const a = await bedrockDriver.sign!(serialized(url, '{"a":1}'), ctx, deps(env));
    const b = await bedrockDriver.sign!(serialized(url, '{"a":1}'), ctx, deps(env));
    const c = await bedrockDriver.sign!(serialized(url, '{"a":2}'), ctx, deps(env));
    assert.equal(a.headers['authorization'], b.headers['authorization']);
    assert.notEqual(a.headers['authorization'], c.headers['authorization']);
  });

  it('fails with AuthError naming the settings when there are no credentials', async () => {
    const ctx = makeCtx(target('bedrock', 'llm/v1/chat', 'm', { bedrock: { aws_region: 'us-east-1' } }));
    await assert.rejects(bedrockDriver.sign!(serialized('https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse'), ctx, deps({})), (e: unknown) => e instanceof AuthError && /aws_access_key_id/.test(e.message));
  });

  it('fails with ConfigError when no region is configured or in the environment', async () => {
    const ctx = makeCtx(chat);
    await assert.rejects(bedrockDriver.sign!(serialized('https://x/'), ctx, deps({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' })), ConfigError);
  });
});
