import type { RecordField } from '../dsl';
import { PROVIDERS } from './enums';

/** `model.options.gemini`: Vertex AI coordinates (all three or none, as in Kong OSS llm/schemas/init.lua). */
export const GEMINI_OPTIONS = {
  type: 'record',
  fields: {
    api_endpoint: {
      type: 'string',
      description: 'If running Gemini on Vertex, specify the regional API endpoint (hostname only).',
    },
    endpoint_id: {
      type: 'string',
      description: 'If running Gemini on Vertex Model Garden, specify the endpoint ID.',
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
  entity_checks: [{ mutually_required: ['api_endpoint', 'project_id', 'location_id'] }],
} as const satisfies RecordField;

export const BEDROCK_OPTIONS = {
  type: 'record',
  fields: {
    aws_assume_role_arn: {
      type: 'string',
      description: 'If using AWS providers (Bedrock) you can assume a different role after authentication with the current IAM context is successful.',
    },
    aws_region: {
      type: 'string',
      description: 'If using AWS providers (Bedrock) you can override the `AWS_REGION` environment variable by setting this option.',
    },
    aws_role_session_name: {
      type: 'string',
      description: 'If using AWS providers (Bedrock), set the identifier of the assumed role session.',
    },
    aws_sts_endpoint_url: {
      type: 'string',
      description: 'If using AWS providers (Bedrock), override the STS endpoint URL when assuming a different role.',
    },
    batch_bucket_prefix: {
      type: 'string',
      description: 'S3 URI prefix (s3://bucket/prefix/) where Bedrock will get input files from and store results to for native batch API.',
    },
    batch_role_arn: {
      type: 'string',
      description: 'AWS role arn used for calling batch API. Try to get the value from request if ommited.',
    },
    embeddings_normalize: {
      type: 'boolean',
      default: false,
      description: 'If using AWS providers (Bedrock), set to true to normalize the embeddings.',
    },
    performance_config_latency: {
      type: 'string',
      description: 'Force the client\'s performance configuration \'latency\' for all requests. Leave empty to let the consumer select the performance configuration.',
    },
    video_output_s3_uri: {
      type: 'string',
      description: 'S3 URI (s3://bucket/prefix) where Bedrock will store generated video files. Required for video generation.',
    },
  },
} as const satisfies RecordField;

export const HUGGINGFACE_OPTIONS = {
  type: 'record',
  fields: {
    use_cache: {
      type: 'boolean',
      description: 'Use the cache layer on the inference API',
    },
    wait_for_model: {
      type: 'boolean',
      description: 'Wait for the model if it is not ready',
    },
  },
} as const satisfies RecordField;

export const COHERE_OPTIONS = {
  type: 'record',
  fields: {
    embedding_input_type: {
      type: 'string',
      default: 'classification',
      one_of: ['classification', 'clustering', 'image', 'search_document', 'search_query'],
      description: 'The purpose of the input text to calculate embedding vectors.',
    },
    wait_for_model: {
      type: 'boolean',
      description: 'Wait for the model if it is not ready',
    },
  },
} as const satisfies RecordField;

export const DASHSCOPE_OPTIONS = {
  type: 'record',
  fields: {
    international: {
      type: 'boolean',
      default: true,
      description: 'Two Dashscope endpoints are available, and the international endpoint will be used when this is set to `true`.\nIt is recommended to set this to `true` when using international version of dashscope.',
    },
  },
} as const satisfies RecordField;

export const DATABRICKS_OPTIONS = {
  type: 'record',
  fields: {
    workspace_instance_id: {
      type: 'string',
      description: 'Workspace Instance ID (\'dbc-xxx-yyy\') for Databricks model serving.',
    },
  },
} as const satisfies RecordField;

export const MODEL_OPTIONS = {
  type: 'record',
  description: 'Key/value settings for the model',
  fields: {
    anthropic_version: {
      type: 'string',
      description: 'Defines the schema/API version, if using Anthropic provider.',
    },
    azure_api_version: {
      type: 'string',
      default: '2023-05-15',
      description: '\'api-version\' for Azure OpenAI instances.',
    },
    azure_deployment_id: {
      type: 'string',
      description: 'Deployment ID for Azure OpenAI instances.',
    },
    azure_instance: {
      type: 'string',
      description: 'Instance name for Azure OpenAI hosted models.',
    },
    bedrock: BEDROCK_OPTIONS,
    cache_read_cost: {
      type: 'number',
      description: 'Defines the cost per 1M cache-read (cached) prompt tokens.',
    },
    cache_write_cost: {
      type: 'number',
      description: 'Defines the cost per 1M cache-write prompt tokens.',
    },
    cache_write_cost_list: {
      type: 'array',
      description: 'Per-cache-TTL cache-write pricing; overrides cache_write_cost per TTL. Configure this if the upstream provider charges differently for different cache TTLs, as Anthropic does for 5m and 1h TTLs.',
      elements: {
        type: 'record',
        fields: {
          cost: {
            type: 'number',
            required: true,
          },
          ttl: {
            type: 'string',
            required: true,
          },
        },
      },
    },
    cohere: COHERE_OPTIONS,
    context_window_factor: {
      type: 'array',
      description: 'Above an input-token threshold, scale input/output pricing with the corresponding factor.',
      elements: {
        type: 'record',
        fields: {
          above: {
            type: 'string',
            required: true,
          },
          input_factor: {
            type: 'number',
            required: true,
          },
          output_factor: {
            type: 'number',
            required: true,
          },
        },
      },
    },
    dashscope: DASHSCOPE_OPTIONS,
    databricks: DATABRICKS_OPTIONS,
    embeddings_dimensions: {
      type: 'integer',
      description: 'If using embeddings models, set the number of dimensions to generate.',
    },
    gemini: GEMINI_OPTIONS,
    huggingface: HUGGINGFACE_OPTIONS,
    input_cost: {
      type: 'number',
      description: 'Defines the cost per 1M tokens in your prompt.',
    },
    llama2_format: {
      type: 'string',
      one_of: ['ollama', 'openai', 'raw'],
      description: 'If using llama2 provider, select the upstream message format.',
    },
    max_tokens: {
      type: 'integer',
      description: 'Defines the max_tokens, if using chat or completion models.',
    },
    mistral_format: {
      type: 'string',
      one_of: ['ollama', 'openai'],
      description: 'If using mistral provider, select the upstream message format.',
    },
    output_cost: {
      type: 'number',
      description: 'Defines the cost per 1M tokens in the output of the AI.',
    },
    service_tier_factor: {
      type: 'array',
      description: 'Multiplier applied to the whole request for a service tier. No need to configure a standard/default tier, as the default factor is 1.0 if none of the tier is matched.',
      elements: {
        type: 'record',
        fields: {
          factor: {
            type: 'number',
            required: true,
          },
          tier: {
            type: 'string',
            required: true,
            len_min: 1,
            description: 'A word matched case-insensitively as a substring of the vendor\'s reported service tier (e.g. \'priority\', \'flex\', or \'throughput\' for Gemini/Vertex\'s PROVISIONED_THROUGHPUT). If several entries match, the longest (most specific) wins; array order doesn\'t matter. Configure \'priority\' will also match \'fast\' (whole word) as OpenAI returns either \'priority\' or \'fast\' for priority service tier.',
          },
        },
      },
    },
    temperature: {
      type: 'number',
      between: [0, 5],
      description: 'Defines the matching temperature, if using chat or completion models.',
    },
    top_k: {
      type: 'integer',
      between: [0, 500],
      description: 'Defines the top-k most likely tokens, if supported.',
    },
    top_p: {
      type: 'number',
      between: [0, 1],
      description: 'Defines the top-p probability mass, if supported.',
    },
    upstream_path: {
      type: 'string',
      deprecation: {
        message:
          'llm: config.model.options.upstream_path is deprecated, please use config.model.options.upstream_url instead',
        removal_in_version: '4.0',
      },
      description: 'Manually specify or override the AI operation path, used when e.g. using the \'preserve\' route_type.',
    },
    upstream_url: {
      type: 'string',
      url: true,
      description: 'Manually specify or override the full URL to the AI operation endpoints, when calling (self-)hosted models, or for running via a private endpoint.',
    },
  },
} as const satisfies RecordField;

export const MODEL = {
  type: 'record',
  fields: {
    model_alias: {
      type: 'string',
      description: 'The model name parameter from the request that this model should map to.',
    },
    name: {
      type: 'string',
      description: 'Model name to execute.',
    },
    options: MODEL_OPTIONS,
    provider: {
      type: 'string',
      required: true,
      one_of: PROVIDERS,
      description: 'AI provider request format - Kong translates requests to and from the specified backend compatible formats.',
    },
  },
} as const satisfies RecordField;
