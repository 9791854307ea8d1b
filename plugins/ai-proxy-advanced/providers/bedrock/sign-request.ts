/**
 * Signing one Bedrock request, shared by the Bedrock provider driver and the semantic balancer's Bedrock
 * embeddings: credentials from the config's auth, else the environment's AWS keys (+ session token); region from
 * the config, else AWS_REGION / AWS_DEFAULT_REGION; a URL built without a region carries the marker host below,
 * which is replaced here because only signing sees the environment (SignDeps.env).
 */
import { AuthError, ConfigError } from '../../errors';
import type { SerializedRequest, SignDeps } from '../provider';
import { type AwsCredentials, signAws } from './sigv4';

/** Marker host label for "region from the environment", replaced in `signBedrockRequest`. Not a real AWS region name. */
export const ENV_REGION_MARKER = 'aws-region-from-env';

export interface BedrockSigning {
  auth: { aws_access_key_id?: string | null; aws_secret_access_key?: string | null } | null | undefined;
  /** model.options.bedrock.aws_region */
  region: string | null | undefined;
  /** Where the user sets these, for error messages: `auth` or `embeddings.auth`; `model.options` or `embeddings.model.options`. */
  authField: string;
  optionsField: string;
}

export function awsCredentials(s: BedrockSigning, env: SignDeps['env']): AwsCredentials {
  const auth = s.auth;
  if (auth?.aws_access_key_id && auth.aws_secret_access_key) {
    return { accessKeyId: auth.aws_access_key_id, secretAccessKey: auth.aws_secret_access_key };
  }
  const id = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: env['AWS_SESSION_TOKEN'] || undefined };
  throw new AuthError(
    `no AWS credentials for bedrock: set ${s.authField}.aws_access_key_id and ${s.authField}.aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (instance/container roles are not supported yet)`,
  );
}

export function awsRegion(s: BedrockSigning, env: SignDeps['env']): string {
  const region = s.region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (!region) throw new ConfigError(`AWS region not specified anywhere: set ${s.optionsField}.bedrock.aws_region or AWS_REGION`);
  return region;
}

export async function signBedrockRequest(req: SerializedRequest, s: BedrockSigning, deps: SignDeps): Promise<SerializedRequest> {
  const region = awsRegion(s, deps.env);
  const u = new URL(req.url);
  if (u.hostname === `bedrock-runtime.${ENV_REGION_MARKER}.amazonaws.com`) u.hostname = `bedrock-runtime.${region}.amazonaws.com`;
  const url = u.toString();
  const added = await signAws({
    method: req.method,
    url,
    headers: req.headers,
    body: req.body,
    region,
    service: 'bedrock',
    credentials: awsCredentials(s, deps.env),
    date: new Date(deps.now()),
  });
  return { ...req, url, headers: { ...req.headers, ...added } };
}
