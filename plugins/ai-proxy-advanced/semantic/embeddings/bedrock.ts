/**
 * Bedrock InvokeModel `POST https://bedrock-runtime.{region}.amazonaws.com/model/{model}/invoke`: Titan Text
 * Embeddings `{inputText, dimensions}` → `embedding`; Cohere Embed `{texts, input_type}` → `embeddings[0]`.
 * SigV4 (providers/bedrock/sign-request.ts, the provider driver's own signing) with `embeddings.auth.aws_access_key_id/aws_secret_access_key`, else the
 * environment's AWS keys; region from `options.bedrock.aws_region`, else AWS_REGION / AWS_DEFAULT_REGION.
 */
import { ENV_REGION_MARKER, signBedrockRequest } from '../../providers/bedrock/sign-request';
import { dig, type EmbeddingsDriver } from './driver';

const isCohere = (model: string): boolean => /(^|\.)cohere\.embed/.test(model);

export const bedrock: EmbeddingsDriver = {
  defaultUrl: (model) =>
    `https://bedrock-runtime.${model.options?.bedrock?.aws_region ?? ENV_REGION_MARKER}.amazonaws.com/model/${encodeURIComponent(model.name)}/invoke`,
  body(text, model, dimensions) {
    if (isCohere(model.name)) return { texts: [text], input_type: 'search_query' };
    const out: Record<string, unknown> = { inputText: text, dimensions };
    if (model.options?.bedrock?.embeddings_normalize) out['normalize'] = true;
    return out;
  },
  vector: (answer) => dig(answer, 'embedding') ?? dig(answer, 'embeddings', 0) ?? dig(answer, 'embeddings', 'float', 0),
  sign: (req, config, deps) =>
    signBedrockRequest(
      req,
      { auth: config.auth, region: config.model.options?.bedrock?.aws_region, authField: 'embeddings.auth', optionsField: 'embeddings.model.options' },
      deps,
    ),
};
