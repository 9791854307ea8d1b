import type { RecordField } from '../dsl';
import { ACLS } from './acls';
import { BALANCER } from './balancer';
import { EMBEDDINGS } from './embeddings';
import { GENAI_CATEGORIES, LLM_FORMATS, RESPONSE_STREAMING_MODES } from './enums';
import { TARGET } from './target';
import { VECTORDB } from './vectordb';

/**
 * The plugin's `config` record: the one source of truth for every field of Kong's ai-proxy-advanced 3.8-3.14.
 *
 * Where versions disagree, the newest wins and older configs stay valid:
 * - defaults: `max_request_body_size` 1048576 (3.13+; 8192 before), `vectordb.redis.ssl_verify` and
 *   `vectordb.pgvector.ssl_verify` true (3.14+; false before), `model.options.max_tokens` none (256 in 3.8/3.9);
 * - ranges: `max_request_body_size` has no bound (3.10+, `0` = unlimited; 3.8/3.9 refused 0),
 *   `input_cost`/`output_cost` no lower bound (3.10+; `> 0` before);
 * - required: `targets[].logging` (3.8/3.9), `vectordb.redis` (3.8/3.9) and `vectordb.threshold` (3.8-3.12) are
 *   optional; enum lists are the union of all versions; 3.8/3.9's `vectordb.redis` shorthands
 *   (`timeout`, `sentinel_addresses`, `cluster_addresses`) are still accepted and translated.
 * Descriptions are Kong's (developer.konghq.com schema export, MIT).
 */
export const PLUGIN_CONFIG = {
  type: 'record',
  fields: {
    acls: ACLS,
    balancer: BALANCER,
    embeddings: EMBEDDINGS,
    genai_category: {
      type: 'string',
      default: 'text/generation',
      one_of: GENAI_CATEGORIES,
      description: 'Generative AI category of the request',
    },
    llm_format: {
      type: 'string',
      default: 'openai',
      one_of: LLM_FORMATS,
      description: 'LLM input and output format and schema to use',
    },
    max_request_body_size: {
      type: 'integer',
      default: 1048576,
      description: 'max allowed body size allowed to be introspected. 0 means unlimited, but the size of this body will still be limited by Nginx\'s client_max_body_size.',
    },
    model_name_header: {
      type: 'boolean',
      default: true,
      description: 'Display the model name selected in the X-Kong-LLM-Model response header',
    },
    response_streaming: {
      type: 'string',
      default: 'allow',
      one_of: RESPONSE_STREAMING_MODES,
      description: 'Whether to \'optionally allow\', \'deny\', or \'always\' (force) the streaming of answers via server sent events.',
    },
    targets: {
      type: 'array',
      required: true,
      elements: TARGET,
    },
    vectordb: VECTORDB,
  },
  entity_checks: [{ custom: 'semantic_needs_descriptions' }, { custom: 'native_format_targets' }, { custom: 'route_type_served' }],
} as const satisfies RecordField;
