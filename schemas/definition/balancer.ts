import type { RecordField } from '../dsl';
import { ALGORITHMS, FAILOVER_CRITERIA, LATENCY_STRATEGIES, TOKENS_COUNT_STRATEGIES } from './enums';

export const BALANCER = {
  type: 'record',
  autofill: true,
  fields: {
    algorithm: {
      type: 'string',
      default: 'round-robin',
      one_of: ALGORITHMS,
      description: 'Which load balancing algorithm to use.',
    },
    connect_timeout: {
      type: 'integer',
      default: 60000,
      between: [1, 2147483646],
    },
    fail_timeout: {
      type: 'integer',
      default: 10000,
      between: [1, 2147483646],
      description: 'The period of time (in milliseconds) the target will be considered unavailable after the number of unsuccessful attempts reaches `max_fails`.',
    },
    failover_criteria: {
      type: 'array',
      default: ['error', 'timeout'],
      description: 'Specifies in which cases an upstream response should be failover to the next target. Each option in the array is equivalent to the function of http://nginx.org/en/docs/http/ngx_http_proxy_module.html#proxy_next_upstream',
      elements: {
        type: 'string',
        one_of: FAILOVER_CRITERIA,
      },
    },
    hash_on_header: {
      type: 'string',
      default: 'X-Kong-LLM-Request-ID',
      description: 'The header to use for consistent-hashing.',
    },
    latency_strategy: {
      type: 'string',
      default: 'tpot',
      one_of: LATENCY_STRATEGIES,
      description: 'What metrics to use for latency. Available values are: `tpot` (time-per-output-token) and `e2e`.',
    },
    max_fails: {
      type: 'integer',
      default: 0,
      between: [0, 32767],
      description: 'Number of unsuccessful attempts to communicate with a target that should occur in the duration defined by `fail_timeout` before the target is considered unavailable. The zero value disables the circuit breaker. What is considered an unsuccessful attempt is defined by `failover_criteria`. Note the cases of `error`, `timeout` and `invalid_header` are always considered unsuccessful attempts, while the cases of `http_403` and `http_404` are never considered unsuccessful attempts.',
    },
    read_timeout: {
      type: 'integer',
      default: 60000,
      between: [1, 2147483646],
    },
    retries: {
      type: 'integer',
      default: 5,
      between: [0, 32767],
      description: 'The number of retries to execute upon failure to proxy.',
    },
    slots: {
      type: 'integer',
      default: 10000,
      between: [10, 65536],
      description: 'The number of slots in the load balancer algorithm.',
    },
    tokens_count_strategy: {
      type: 'string',
      default: 'total-tokens',
      one_of: TOKENS_COUNT_STRATEGIES,
      description: 'What tokens to use for usage calculation. Available values are: `total_tokens` `prompt_tokens`, `completion_tokens` and `cost`.',
    },
    write_timeout: {
      type: 'integer',
      default: 60000,
      between: [1, 2147483646],
    },
  },
} as const satisfies RecordField;
