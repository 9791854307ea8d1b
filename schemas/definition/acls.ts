import type { RecordField } from '../dsl';
import { ACL_MATCH_TYPES } from './enums';

/** One `acls.allow[]` / `acls.deny[]` rule (3.14): all its conditions must match. */
export const ACL_RULE = {
  type: 'record',
  description: 'ACL rule composed of one or more match conditions.',
  fields: {
    match: {
      type: 'array',
      required: true,
      len_min: 1,
      description: 'All conditions must match for the rule to apply (logical AND).',
      elements: {
        type: 'record',
        description: 'Single match condition (e.g. user or model value).',
        entity_checks: [{ custom: 'acl_condition' }],
        fields: {
          key: {
            type: 'string',
            description:
              'Helper key used by some types: consumer (id|username), consumer_group (id|name), header (header name).',
          },
          type: {
            type: 'string',
            required: true,
            one_of: ACL_MATCH_TYPES,
            description: 'The attribute to match against.',
          },
          values: {
            type: 'array',
            required: true,
            len_min: 1,
            description: 'Allowed values for the selected type.',
            elements: { type: 'string' },
          },
        },
      },
    },
  },
} as const satisfies RecordField;

/** `config.acls` (3.14): deny rules win; any rule may match (OR), its conditions must all match (AND). */
export const ACLS = {
  type: 'record',
  description: 'Optional ACL rules. Deny rules take precedence over allow rules.',
  fields: {
    allow: {
      type: 'array',
      len_min: 1,
      description: 'Requests matching any allow rule are permitted unless also matched by a deny rule.',
      elements: ACL_RULE,
    },
    deny: {
      type: 'array',
      len_min: 1,
      description: 'Requests matching any deny rule are blocked. Deny rules take precedence over allow rules.',
      elements: ACL_RULE,
    },
  },
} as const satisfies RecordField;
