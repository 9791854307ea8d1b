/**
 * A table of wrong configs: each is refused with exactly the listed errors, each naming the field to fix and
 * using Kong's message for that rule (kong/db/schema/init.lua validation_errors, kong/llm/schemas/init.lua).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../schemas';
import { ALGORITHMS, PROVIDERS, ROUTE_TYPES } from '../../schemas/config';

type Target = Record<string, unknown>;
const openai = (extra: Target = {}): Target => ({ route_type: 'llm/v1/chat', model: { provider: 'openai' }, ...extra });
const withTarget = (t: Target, extra: Record<string, unknown> = {}) => ({ targets: [t], ...extra });
const model = (provider: string, options?: Record<string, unknown>) => (options ? { provider, options } : { provider });

interface Case {
  name: string;
  config: unknown;
  errors: Array<[path: string, message: string]>;
}

const CASES: Case[] = [
  { name: 'a config that is not an object', config: 'targets', errors: [['', 'expected a record']] },
  { name: 'no targets', config: {}, errors: [['targets', 'required field missing']] },
  { name: 'targets that is not an array', config: { targets: {} }, errors: [['targets', 'expected an array']] },
  {
    name: 'a target without route_type',
    config: withTarget({ model: model('openai') }),
    errors: [['targets[0].route_type', 'required field missing']],
  },
  {
    name: 'a target whose route_type is null',
    config: withTarget(openai({ route_type: null })),
    errors: [['targets[0].route_type', 'required field missing']],
  },
  {
    name: 'an unknown route_type',
    config: withTarget(openai({ route_type: 'llm/v2/chat' })),
    errors: [['targets[0].route_type', `expected one of: ${ROUTE_TYPES.join(', ')}`]],
  },
  {
    name: 'an unknown provider',
    config: withTarget(openai({ model: model('openia') })),
    errors: [['targets[0].model.provider', `expected one of: ${PROVIDERS.join(', ')}`]],
  },
  {
    name: 'a vault reference where no reference is allowed',
    config: withTarget(openai({ model: model('{vault://env/PROVIDER}') })),
    errors: [['targets[0].model.provider', `expected one of: ${PROVIDERS.join(', ')}`]],
  },
  {
    name: 'anthropic without anthropic_version',
    config: withTarget(openai({ model: model('anthropic') })),
    errors: [['targets[0].model.options.anthropic_version', "must set 'model.options.anthropic_version' for anthropic provider"]],
  },
  {
    name: 'azure without instance and deployment (api_version has a default)',
    config: withTarget(openai({ model: model('azure', {}) })),
    errors: [
      ['targets[0].model.options.azure_instance', "must set 'model.options.azure_instance' for azure provider"],
      ['targets[0].model.options.azure_deployment_id', "must set 'model.options.azure_deployment_id' for azure provider"],
    ],
  },
  {
    name: 'llama2 without format and upstream_url',
    config: withTarget(openai({ model: model('llama2') })),
    errors: [
      ['targets[0].model.options.llama2_format', "must set 'model.options.llama2_format' for llama2 provider"],
      ['targets[0].model.options.upstream_url', "must set 'model.options.upstream_url' for self-hosted providers/models"],
    ],
  },
  {
    name: 'mistral without mistral_format',
    config: withTarget(openai({ model: model('mistral', { upstream_url: 'https://api.mistral.ai/v1' }) })),
    errors: [['targets[0].model.options.mistral_format', "must set 'model.options.mistral_format' for mistral provider"]],
  },
  {
    name: 'bedrock allowing auth override',
    config: withTarget(openai({ model: model('bedrock'), auth: { allow_override: true } })),
    errors: [['targets[0].auth.allow_override', 'bedrock and gemini only support auth.allow_override = false']],
  },
  {
    name: 'gemini allowing auth override',
    config: withTarget(openai({ model: model('gemini'), auth: { allow_override: true } })),
    errors: [['targets[0].auth.allow_override', 'bedrock and gemini only support auth.allow_override = false']],
  },
  {
    name: 'a header name without its value',
    config: withTarget(openai({ auth: { header_name: 'Authorization' } })),
    errors: [['targets[0].auth.header_value', "all or none of these fields must be set: 'auth.header_name', 'auth.header_value'"]],
  },
  {
    name: 'a query parameter name without value and location',
    config: withTarget(openai({ auth: { param_name: 'key' } })),
    errors: [
      ['targets[0].auth.param_value', "all or none of these fields must be set: 'auth.param_name', 'auth.param_value', 'auth.param_location'"],
      ['targets[0].auth.param_location', "all or none of these fields must be set: 'auth.param_name', 'auth.param_value', 'auth.param_location'"],
    ],
  },
  {
    name: 'half the Vertex coordinates of gemini',
    config: withTarget(openai({ model: model('gemini', { gemini: { api_endpoint: 'x.googleapis.com' } }) })),
    errors: [
      ['targets[0].model.options.gemini.project_id', "all or none of these fields must be set: 'api_endpoint', 'project_id', 'location_id'"],
      ['targets[0].model.options.gemini.location_id', "all or none of these fields must be set: 'api_endpoint', 'project_id', 'location_id'"],
    ],
  },
  {
    name: 'statistics for anthropic completions',
    config: withTarget({
      route_type: 'llm/v1/completions',
      model: model('anthropic', { anthropic_version: '2023-06-01' }),
      logging: { log_statistics: true },
    }),
    errors: [['targets[0].logging.log_statistics', 'anthropic does not support statistics when route_type is llm/v1/completions']],
  },
  {
    name: 'semantic balancing with a target lacking a description',
    config: { targets: [openai({ description: 'code' }), openai()], balancer: { algorithm: 'semantic' } },
    errors: [['targets[1].description', 'description field is required for every target in config.targets array']],
  },
  {
    name: 'a weight of zero',
    config: withTarget(openai({ weight: 0 })),
    errors: [['targets[0].weight', 'value should be between 1 and 65535']],
  },
  {
    name: 'a temperature above 5',
    config: withTarget(openai({ model: model('openai', { temperature: 5.5 }) })),
    errors: [['targets[0].model.options.temperature', 'value should be between 0 and 5']],
  },
  {
    name: 'a fractional max_tokens',
    config: withTarget(openai({ model: model('openai', { max_tokens: 1.5 }) })),
    errors: [['targets[0].model.options.max_tokens', 'expected an integer']],
  },
  {
    name: 'a non-string auth header value',
    config: withTarget(openai({ auth: { header_name: 'Authorization', header_value: 42 } })),
    errors: [['targets[0].auth.header_value', 'expected a string']],
  },
  {
    name: 'an empty model name (Kong strings are at least 1 long)',
    config: withTarget(openai({ model: { provider: 'openai', name: '' } })),
    errors: [['targets[0].model.name', 'length must be at least 1']],
  },
  {
    name: 'an upstream_url without a scheme or host',
    config: {
      targets: [
        openai({ model: model('openai', { upstream_url: 'localhost:8080/v1' }) }),
        openai({ model: model('openai', { upstream_url: '//localhost:8080/v1' }) }),
      ],
    },
    errors: [
      ['targets[0].model.options.upstream_url', 'missing host in url'],
      ['targets[1].model.options.upstream_url', 'missing scheme in url'],
    ],
  },
  {
    name: 'an unknown field at the top, in a target and in model options',
    config: { targets: [openai({ priority: 1, model: model('openai', { seconds: 4 }) })], timeout: 5 },
    errors: [
      ['timeout', 'unknown field'],
      ['targets[0].priority', 'unknown field'],
      ['targets[0].model.options.seconds', 'unknown field'],
    ],
  },
  {
    name: 'an unknown algorithm and failover criterion',
    config: withTarget(openai(), { balancer: { algorithm: 'random', failover_criteria: ['error', 'http_418'] } }),
    errors: [
      ['balancer.algorithm', `expected one of: ${ALGORITHMS.join(', ')}`],
      [
        'balancer.failover_criteria[1]',
        'expected one of: error, timeout, invalid_header, http_500, http_502, http_503, http_504, http_403, http_404, http_429, non_idempotent',
      ],
    ],
  },
  {
    name: 'balancer numbers out of range',
    config: withTarget(openai(), { balancer: { slots: 5, retries: 40000, max_fails: -1, connect_timeout: 0 } }),
    errors: [
      ['balancer.connect_timeout', 'value should be between 1 and 2147483646'],
      ['balancer.max_fails', 'value should be between 0 and 32767'],
      ['balancer.retries', 'value should be between 0 and 32767'],
      ['balancer.slots', 'value should be between 10 and 65536'],
    ],
  },
  {
    name: 'a vectordb without dimensions and a redis port out of range',
    config: withTarget(openai(), { vectordb: { strategy: 'redis', distance_metric: 'cosine', redis: { port: 70000 } } }),
    errors: [
      ['vectordb.dimensions', 'required field missing'],
      ['vectordb.redis.port', 'value should be between 0 and 65535'],
    ],
  },
  {
    name: 'a non-integer max_request_body_size',
    config: withTarget(openai(), { max_request_body_size: '1MB' }),
    errors: [['max_request_body_size', 'expected an integer']],
  },
  {
    name: 'empty ACL lists',
    config: withTarget(openai(), { acls: { allow: [], deny: [{ match: [{ type: 'model', values: [] }] }] } }),
    errors: [
      ['acls.allow', 'length must be at least 1'],
      ['acls.deny[0].match[0].values', 'length must be at least 1'],
    ],
  },
  {
    name: 'ACL conditions the engine could not evaluate (3.14 acls, docs/acls.md), each named at its field',
    config: withTarget(openai(), {
      acls: {
        allow: [{ match: [{ type: 'ip', values: ['10.0.0.0/8', '10.0.0.0/33', 'localhost', '2001:db8::/129'] }, { type: 'header', values: ['a'] }] }],
        deny: [
          { match: [{ type: 'consumer', key: 'email', values: ['x'] }, { type: 'consumer_group', key: 'username', values: ['g'] }] },
          { match: [{ type: 'path', values: ['/ok', 'v1/chat'] }, { type: 'provider', values: ['openai', 'open-ai'] }, { type: 'header', key: 'bad header', values: ['v'] }] },
        ],
      },
    }),
    errors: [
      ['acls.allow[0].match[0].values[1]', "invalid ip address or cidr range: '10.0.0.0/33'"],
      ['acls.allow[0].match[0].values[2]', "invalid ip address or cidr range: 'localhost'"],
      ['acls.allow[0].match[0].values[3]', "invalid ip address or cidr range: '2001:db8::/129'"],
      ['acls.allow[0].match[1].key', 'a header condition needs the header name as its key'],
      ['acls.deny[0].match[0].key', 'expected one of: id, username, custom_id (or no key: any of them)'],
      ['acls.deny[0].match[1].key', 'expected one of: id, name (or no key: any of them)'],
      ['acls.deny[1].match[0].values[1]', "a path must start with '/': 'v1/chat'"],
      ['acls.deny[1].match[1].values[1]', `expected one of: ${PROVIDERS.join(', ')}`],
      ['acls.deny[1].match[2].key', 'a header condition needs the header name as its key'],
    ],
  },
  {
    name: 'embeddings without a model name',
    config: withTarget(openai(), { embeddings: { model: { provider: 'openai' } } }),
    errors: [['embeddings.model.name', 'required field missing']],
  },
  {
    name: 'a redis timeout shorthand that is not an integer',
    config: withTarget(openai(), { vectordb: { strategy: 'redis', dimensions: 3, distance_metric: 'cosine', redis: { timeout: 'soon' } } }),
    errors: [['vectordb.redis.timeout', 'expected an integer']],
  },
  {
    // engine/config-check.ts, run by validateConfig: the Admin API and `npm run validate` refuse it, not requests.
    name: 'a template in upstream_url\'s port (no request value could make it safe)',
    config: withTarget(openai({ model: model('openai', { upstream_url: 'http://h:$(headers.x)/v1' }) })),
    errors: [['targets[0].model.options.upstream_url', "a template may not set the URL's port"]],
  },
  {
    name: 'a template in the second target\'s upstream_url user info',
    config: { targets: [openai(), openai({ model: model('openai', { upstream_url: 'http://$(headers.x)@h/v1' }) })] },
    errors: [['targets[1].model.options.upstream_url', "a template may not set the URL's userinfo"]],
  },
  {
    // Each misplaced template is its own error at its own field, in every target (the check returns
    // {field, message}: no path is parsed back out of a message).
    name: 'misplaced templates in two URL options of one target and in a second target',
    config: {
      targets: [
        {
          route_type: 'llm/v1/chat',
          model: model('gemini', {
            upstream_url: 'http://h:$(headers.x)/v1',
            gemini: { api_endpoint: 'https://$(headers.y)@aiplatform.example', project_id: 'p', location_id: 'l' },
          }),
        },
        openai({ model: model('openai', { upstream_url: 'http://u:$(headers.s)@h/v1' }) }),
      ],
    },
    errors: [
      ['targets[0].model.options.upstream_url', "a template may not set the URL's port"],
      ['targets[0].model.options.gemini.api_endpoint', "a template may not set the URL's userinfo"],
      ['targets[1].model.options.upstream_url', "a template may not set the URL's userinfo"],
    ],
  },
  {
    name: 'a "__proto__" key (as JSON.parse leaves it), reported instead of swallowed',
    config: JSON.parse('{"targets": [], "__proto__": {"polluted": true}}') as unknown,
    errors: [['__proto__', 'unknown field']],
  },
];

for (const c of CASES) {
  test(`refuses ${c.name}`, () => {
    const r = validateConfig(c.config);
    assert.equal(r.ok, false, 'should be refused');
    if (r.ok) return;
    const got = r.errors.map((e) => [e.path, e.message]);
    assert.deepEqual(sortPairs(got), sortPairs(c.errors));
  });
}

function sortPairs(p: string[][]): string[][] {
  return [...p].sort((a, b) => (a.join('\u0000') < b.join('\u0000') ? -1 : 1));
}
