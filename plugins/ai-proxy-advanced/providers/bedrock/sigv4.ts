/**
 * AWS Signature Version 4 through AWS SDK v3's signer (@smithy/signature-v4 + @aws-crypto/sha256-js), so the
 * canonicalisation rules (double-encoded paths, sorted query, trimmed headers) are AWS's own, checked in
 * spec/providers/bedrock-sigv4.test.ts against AWS's published SigV4 test-suite vectors.
 *
 * Only `host`, `content-type` and the `x-amz-*` headers are signed: anything the HTTP client or the engine may
 * still touch (accept-encoding, user-agent, content-length) stays out of the signature.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

export interface AwsSignInput {
  method: string;
  url: string;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: Buffer | string | undefined;
  region: string;
  service: string;
  credentials: AwsCredentials;
  date: Date;
  /** Add and sign `x-amz-content-sha256` (AWS SDK default); the SigV4 test suite vectors are computed without it. */
  applyChecksum?: boolean;
}

const SIGNED = new Set(['host', 'content-type']);

/** Returns the headers to add: authorization, x-amz-date, and x-amz-security-token / x-amz-content-sha256 when used. */
export async function signAws(input: AwsSignInput): Promise<Record<string, string>> {
  const u = new URL(input.url);
  const headers: Record<string, string> = { host: u.host };
  for (const [k, v] of Object.entries(input.headers)) {
    const name = k.toLowerCase();
    if (SIGNED.has(name) || name.startsWith('x-amz-')) headers[name] = v;
  }
  headers['host'] = u.host;
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of u.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service,
    sha256: Sha256,
    uriEscapePath: true,
    applyChecksum: input.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    {
      method: input.method.toUpperCase(),
      protocol: u.protocol,
      hostname: u.hostname,
      port: u.port ? Number(u.port) : undefined,
      // The wire path (already percent-encoded once) is escaped again by the signer: AWS signs non-S3 paths
      // double-encoded, so a model ARN's `%3A` is signed as `%253A`.
      path: u.pathname,
      query,
      headers,
      body: input.body,
    },
    { signingDate: input.date },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) {
    const name = k.toLowerCase();
    if (name === 'authorization' || name.startsWith('x-amz-')) out[name] = String(v);
  }
  return out;
}

