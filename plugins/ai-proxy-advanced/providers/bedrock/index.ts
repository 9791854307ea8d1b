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
import { UnsupportedFeatureError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { toConverse } from './request';
import { fromConverse } from './response';
import { fromBedrockEmbeddings, toBedrockEmbeddings } from './embeddings';
import { ENV_REGION_MARKER, signBedrockRequest } from './sign-request';
import { createBedrockStreamTranslator } from './stream';
import { bedrockNative } from './native';

export { ENV_REGION_MARKER } from './sign-request';

export function bedrockUrl(ctx: TranslateContext, operation: string): string {
  const region = modelOptions(ctx).bedrock?.aws_region ?? ENV_REGION_MARKER;
  return upstreamUrl(ctx, `https://bedrock-runtime.${region}.amazonaws.com`, `/model/${encodeURIComponent(ctx.model)}/${operation}`);
}

export function refuseAssumeRole(ctx: TranslateContext): void {
  if (modelOptions(ctx).bedrock?.aws_assume_role_arn) {
    throw new UnsupportedFeatureError('model.options.bedrock.aws_assume_role_arn (STS AssumeRole) is not supported yet');
  }
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
  sign: (req, ctx, deps) =>
    signBedrockRequest(req, { auth: ctx.target.auth, region: modelOptions(ctx).bedrock?.aws_region, authField: 'auth', optionsField: 'model.options' }, deps),
};
