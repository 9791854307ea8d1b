import type { RecordField } from '../dsl';
import { AUTH, LOGGING } from './auth';
import { ROUTE_TYPES } from './enums';
import { MODEL } from './model';

/**
 * One `config.targets[]` element: ai-proxy's config (route_type, auth, model, logging) plus balancer fields.
 * The entity checks are the shared LLM schema's (Kong OSS kong/llm/schemas/init.lua, same texts), plus the
 * statistics rule that OSS implements as a custom_entity_check.
 */
export const TARGET = {
  type: 'record',
  fields: {
    auth: AUTH,
    description: {
      type: 'string',
      description: 'The semantic description of the target, required if using semantic load balancing. Specially, setting this to \'CATCHALL\' will indicate such target to be used when no other targets match the semantic threshold. Only used by ai-proxy-advanced.',
    },
    logging: LOGGING,
    metadata: {
      type: 'json',
      description: 'For internal use only.',
    },
    model: { ...MODEL, required: true },
    route_type: {
      type: 'string',
      required: true,
      one_of: ROUTE_TYPES,
      description: 'The model\'s operation implementation, for this provider.',
    },
    weight: {
      type: 'integer',
      default: 100,
      between: [1, 65535],
      description: 'The weight this target gets within the upstream loadbalancer (1-65535). Only used by ai-proxy-advanced.',
    },
  },
  entity_checks: [
    {
      // Kong writes this as `then_match = { eq = false }`, which also fails when `auth` is absent (null);
      // `ne: true` keeps the documented intent (only an explicit `allow_override: true` is refused).
      conditional: {
        if_field: 'model.provider',
        if_match: { one_of: ['bedrock', 'gemini'] },
        then_field: 'auth.allow_override',
        then_match: { ne: true },
        then_err: 'bedrock and gemini only support auth.allow_override = false',
      },
    },
    { mutually_required: ['auth.header_name', 'auth.header_value'] },
    { mutually_required: ['auth.param_name', 'auth.param_value', 'auth.param_location'] },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['llama2'] },
        then_at_least_one_of: ['model.options.llama2_format'],
        then_err: 'must set %s for llama2 provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['mistral'] },
        then_at_least_one_of: ['model.options.mistral_format'],
        then_err: 'must set %s for mistral provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['anthropic'] },
        then_at_least_one_of: ['model.options.anthropic_version'],
        then_err: 'must set %s for anthropic provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['azure'] },
        then_at_least_one_of: ['model.options.azure_instance'],
        then_err: 'must set %s for azure provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['azure'] },
        then_at_least_one_of: ['model.options.azure_api_version'],
        then_err: 'must set %s for azure provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['azure'] },
        then_at_least_one_of: ['model.options.azure_deployment_id'],
        then_err: 'must set %s for azure provider',
      },
    },
    {
      conditional_at_least_one_of: {
        if_field: 'model.provider',
        if_match: { one_of: ['llama2'] },
        then_at_least_one_of: ['model.options.upstream_url'],
        then_err: 'must set %s for self-hosted providers/models',
      },
    },
    { custom: 'statistics_unsupported' },
  ],
} as const satisfies RecordField;
