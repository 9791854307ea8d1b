/**
 * Bedrock driver (Kong OSS kong/llm/drivers/bedrock.lua configure_request):
 * https://bedrock-runtime.{region}.amazonaws.com/model/{model}/{converse|converse-stream} for chat,
 * `/model/{model}/invoke` for embeddings, signed with SigV4 for service `bedrock`.
 *
 * Region: model.options.bedrock.aws_region, else env AWS_REGION / AWS_DEFAULT_REGION. The environment is only
 * reachable in `sign` (SignDeps.env), so without a configured region `toRequest` leaves the marker host below and
 * `sign` puts the region in. Credentials: auth.aws_access_key_id + aws_secret_access_key, else env
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
 */
import { AuthError, ConfigError, UnsupportedFeatureError } from '../../errors';
import type { ProviderDriver, SignDeps, TranslateContext } from '../provider';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { toConverse } from './request';
import { fromConverse } from './response';
import { fromBedrockEmbeddings, toBedrockEmbeddings } from './embeddings';
import { type AwsCredentials, signAws } from './sigv4';
import { createBedrockStreamTranslator } from './stream';
import { bedrockNative } from './native';

/** Marker host label for "region from the environment", replaced in `sign`. Not a real AWS region name. */
export const ENV_REGION_MARKER = 'aws-region-from-env';

export function bedrockUrl(ctx: TranslateContext, operation: string): string {
  const region = modelOptions(ctx).bedrock?.aws_region ?? ENV_REGION_MARKER;
  return upstreamUrl(ctx, `https://bedrock-runtime.${region}.amazonaws.com`, `/model/${encodeURIComponent(ctx.model)}/${operation}`);
}

export function refuseAssumeRole(ctx: TranslateContext): void {
  if (modelOptions(ctx).bedrock?.aws_assume_role_arn) {
    throw new UnsupportedFeatureError('model.options.bedrock.aws_assume_role_arn (STS AssumeRole) is not supported yet');
  }
}

export function awsCredentials(ctx: TranslateContext, env: SignDeps['env']): AwsCredentials {
  const auth = ctx.target.auth;
  if (auth?.aws_access_key_id && auth.aws_secret_access_key) {
    return { accessKeyId: auth.aws_access_key_id, secretAccessKey: auth.aws_secret_access_key };
  }
  const id = env['AWS_ACCESS_KEY_ID'];
  const secret = env['AWS_SECRET_ACCESS_KEY'];
  if (id && secret) return { accessKeyId: id, secretAccessKey: secret, sessionToken: env['AWS_SESSION_TOKEN'] || undefined };
  throw new AuthError(
    'no AWS credentials for bedrock: set auth.aws_access_key_id and auth.aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (instance/container roles are not supported yet)',
  );
}

export function awsRegion(ctx: TranslateContext, env: SignDeps['env']): string {
  const region = modelOptions(ctx).bedrock?.aws_region ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (!region) throw new ConfigError('AWS region not specified anywhere: set model.options.bedrock.aws_region or AWS_REGION');
  return region;
}

export const bedrockDriver: ProviderDriver = {
  name: 'bedrock',
  routeTypes: ['llm/v1/chat', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    refuseAssumeRole(ctx);
    if (ctx.routeType === 'llm/v1/chat') {
      return { method: 'POST', url: bedrockUrl(ctx, ctx.stream ? 'converse-stream' : 'converse'), headers: jsonHeaders(), body: toConverse(body, ctx) };
    }
    if (ctx.routeType === 'llm/v1/embeddings') {
      return { method: 'POST', url: bedrockUrl(ctx, 'invoke'), headers: jsonHeaders(), body: toBedrockEmbeddings(body, ctx) };
    }
    throw unsupportedRoute('bedrock', ctx);
  },
  fromResponse(_status, _headers, body, ctx) {
    return ctx.routeType === 'llm/v1/embeddings' ? fromBedrockEmbeddings(body, ctx) : fromConverse(body, ctx);
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator: createBedrockStreamTranslator,
  native: bedrockNative,
  async sign(req, ctx, deps) {
    const region = awsRegion(ctx, deps.env);
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
      credentials: awsCredentials(ctx, deps.env),
      date: new Date(deps.now()),
    });
    return { ...req, url, headers: { ...req.headers, ...added } };
  },
};
