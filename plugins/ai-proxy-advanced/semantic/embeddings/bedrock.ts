/**
 * Bedrock InvokeModel `POST https://bedrock-runtime.{region}.amazonaws.com/model/{model}/invoke`: Titan Text
 * Embeddings `{inputText, dimensions}` → `embedding`; Cohere Embed `{texts, input_type}` → `embeddings[0]`.
 * SigV4 (providers/bedrock/sigv4.ts) with `embeddings.auth.aws_access_key_id/aws_secret_access_key`, else the
 * environment's AWS keys; region from `options.bedrock.aws_region`, else AWS_REGION / AWS_DEFAULT_REGION.
 */
import { AuthError, ConfigError } from '../../errors';
import { signAws } from '../../providers/bedrock/sigv4';
import { dig, type EmbeddingsDriver } from './driver';

const REGION_MARKER = 'aws-region-from-env';
const isCohere = (model: string): boolean => /(^|\.)cohere\.embed/.test(model);

export const bedrock: EmbeddingsDriver = {
  defaultUrl: (model) =>
    `https://bedrock-runtime.${model.options?.bedrock?.aws_region ?? REGION_MARKER}.amazonaws.com/model/${encodeURIComponent(model.name)}/invoke`,
  body(text, model, dimensions) {
    if (isCohere(model.name)) return { texts: [text], input_type: 'search_query' };
    const out: Record<string, unknown> = { inputText: text, dimensions };
    if (model.options?.bedrock?.embeddings_normalize) out['normalize'] = true;
    return out;
  },
  vector: (answer) => dig(answer, 'embedding') ?? dig(answer, 'embeddings', 0) ?? dig(answer, 'embeddings', 'float', 0),
  async sign(req, config, deps) {
    const auth = config.auth;
    const env = deps.env;
    const accessKeyId = auth?.aws_access_key_id ?? env['AWS_ACCESS_KEY_ID'];
    const secretAccessKey = auth?.aws_secret_access_key ?? env['AWS_SECRET_ACCESS_KEY'];
    if (!accessKeyId || !secretAccessKey) {
      throw new AuthError('no AWS credentials for bedrock embeddings: set embeddings.auth.aws_access_key_id and aws_secret_access_key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
    }
    const u = new URL(req.url);
    if (u.hostname === `bedrock-runtime.${REGION_MARKER}.amazonaws.com`) {
      const region = env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
      if (!region) throw new ConfigError('AWS region not specified: set embeddings.model.options.bedrock.aws_region or AWS_REGION');
      u.hostname = `bedrock-runtime.${region}.amazonaws.com`;
    }
    const region = config.model.options?.bedrock?.aws_region ?? u.hostname.split('.')[1] ?? '';
    const url = u.toString();
    const added = await signAws({
      method: req.method,
      url,
      headers: req.headers,
      body: req.body,
      region,
      service: 'bedrock',
      credentials: { accessKeyId, secretAccessKey, sessionToken: env['AWS_SESSION_TOKEN'] },
      date: new Date(deps.now()),
    });
    return { ...req, url, headers: { ...req.headers, ...added } };
  },
};
