/**
 * Azure OpenAI embeddings: `https://{instance}.openai.azure.com/openai/deployments/{deployment_id}/embeddings
 * ?api-version=...` from `embeddings.model.options.azure`, OpenAI's body and answer. The deployment defaults to the
 * model name, as Azure deployments are usually named after it.
 */
import { ConfigError } from '../../errors';
import { dig, type EmbeddingsDriver } from './driver';

export const azure: EmbeddingsDriver = {
  defaultUrl(model) {
    const az = model.options?.azure;
    if (!az?.instance) throw new ConfigError('embeddings.model.options.azure.instance (or options.upstream_url) is required for azure embeddings');
    const deployment = encodeURIComponent(az.deployment_id ?? model.name);
    const version = encodeURIComponent(az.api_version ?? '2023-05-15');
    return `https://${encodeURIComponent(az.instance)}.openai.azure.com/openai/deployments/${deployment}/embeddings?api-version=${version}`;
  },
  body: (text, model, dimensions) => ({ input: text, model: model.name, dimensions }),
  vector: (answer) => dig(answer, 'data', 0, 'embedding'),
};
