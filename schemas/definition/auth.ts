import type { RecordField } from '../dsl';

export const AUTH = {
  type: 'record',
  fields: {
    allow_override: {
      type: 'boolean',
      default: false,
      description: 'If enabled, the authorization header or parameter can be overridden in the request by the value configured in the plugin.',
    },
    aws_access_key_id: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_ACCESS_KEY_ID environment variable for this plugin instance.',
    },
    aws_secret_access_key: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Set this if you are using an AWS provider (Bedrock) and you are authenticating using static IAM User credentials. Setting this will override the AWS_SECRET_ACCESS_KEY environment variable for this plugin instance.',
    },
    azure_client_id: {
      type: 'string',
      referenceable: true,
      description: 'If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client ID.',
    },
    azure_client_secret: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the client secret.',
    },
    azure_tenant_id: {
      type: 'string',
      referenceable: true,
      description: 'If azure_use_managed_identity is set to true, and you need to use a different user-assigned identity for this LLM instance, set the tenant ID.',
    },
    azure_use_managed_identity: {
      type: 'boolean',
      default: false,
      description: 'Set true to use the Azure Cloud Managed Identity (or user-assigned identity) to authenticate with Azure-provider models.',
    },
    gcp_metadata_url: {
      type: 'string',
      referenceable: true,
      description: 'Custom metadata URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google metadata endpoint.',
    },
    gcp_oauth_token_url: {
      type: 'string',
      referenceable: true,
      description: 'Custom OAuth token URL for GCP authentication. Useful for restricted network environments or custom GCP endpoints. If null, Kong will use the default Google OAuth token endpoint.',
    },
    gcp_service_account_json: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Set this field to the full JSON of the GCP service account to authenticate, if required. If null (and gcp_use_service_account is true), Kong will attempt to read from environment variable `GCP_SERVICE_ACCOUNT`.',
    },
    gcp_use_service_account: {
      type: 'boolean',
      default: false,
      description: 'Use service account auth for GCP-based providers and models.',
    },
    header_name: {
      type: 'string',
      referenceable: true,
      description: 'If AI model requires authentication via Authorization or API key header, specify its name here.',
    },
    header_value: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Specify the full auth header value for \'header_name\', for example \'Bearer key\' or just \'key\'.',
    },
    param_location: {
      type: 'string',
      one_of: ['body', 'query'],
      description: 'Specify whether the \'param_name\' and \'param_value\' options go in a query string, or the POST form/JSON body.',
    },
    param_name: {
      type: 'string',
      referenceable: true,
      description: 'If AI model requires authentication via query parameter, specify its name here.',
    },
    param_value: {
      type: 'string',
      referenceable: true,
      encrypted: true,
      description: 'Specify the full parameter value for \'param_name\'.',
    },
  },
} as const satisfies RecordField;

export const LOGGING = {
  type: 'record',
  autofill: true,
  fields: {
    log_payloads: {
      type: 'boolean',
      default: false,
      description: 'If enabled, will log the request and response body into the Kong log plugin(s) output.Furthermore if Opentelemetry instrumentation is enabled the traces will contain this data as well.',
    },
    log_statistics: {
      type: 'boolean',
      default: false,
      description: 'If enabled and supported by the driver, will add model usage and token metrics into the Kong log plugin(s) output.',
    },
  },
} as const satisfies RecordField;
