import type { RecordField } from '../dsl';
import { AUTH } from './auth';
import { EMBEDDINGS_PROVIDERS } from './enums';
import { BEDROCK_OPTIONS, HUGGINGFACE_OPTIONS } from './model';

/** `embeddings.model.options.azure` (3.10+): the embeddings model's own Azure deployment. */
export const EMBEDDINGS_AZURE_OPTIONS = {
  type: 'record',
  fields: {
    api_version: {
      type: 'string',
      default: '2023-05-15',
      description: '\'api-version\' for Azure OpenAI instances.',
    },
    deployment_id: {
      type: 'string',
      description: 'Deployment ID for Azure OpenAI instances.',
    },
    instance: {
      type: 'string',
      description: 'Instance name for Azure OpenAI hosted models.',
    },
  },
} as const satisfies RecordField;

/** `embeddings.model.options.gemini` (3.10+): like the target's, without `endpoint_id`. */
export const EMBEDDINGS_GEMINI_OPTIONS = {
  type: 'record',
  fields: {
    api_endpoint: {
      type: 'string',
      description: 'If running Gemini on Vertex, specify the regional API endpoint (hostname only).',
    },
    location_id: {
      type: 'string',
      description: 'If running Gemini on Vertex, specify the location ID.',
    },
    project_id: {
      type: 'string',
      description: 'If running Gemini on Vertex, specify the project ID.',
    },
  },
} as const satisfies RecordField;

/**
 * `config.embeddings`: the model that embeds prompts and target descriptions for the `semantic` algorithm.
 * `auth`, `bedrock` and `huggingface` are the same records as a target's (same fields in every version).
 */
export const EMBEDDINGS = {
  type: 'record',
  fields: {
    auth: AUTH,
    model: {
      type: 'record',
      required: true,
      fields: {
        name: {
          type: 'string',
          required: true,
          description: 'Model name to execute.',
        },
        options: {
          type: 'record',
          description: 'Key/value settings for the model',
          fields: {
            azure: EMBEDDINGS_AZURE_OPTIONS,
            bedrock: BEDROCK_OPTIONS,
            gemini: EMBEDDINGS_GEMINI_OPTIONS,
            huggingface: HUGGINGFACE_OPTIONS,
            upstream_url: {
              type: 'string',
              description: 'upstream url for the embeddings',
            },
          },
        },
        provider: {
          type: 'string',
          required: true,
          one_of: EMBEDDINGS_PROVIDERS,
          description: 'AI provider format to use for embeddings API',
        },
      },
    },
  },
} as const satisfies RecordField;