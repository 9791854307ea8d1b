/**
 * `npm run bench -- schema`: cost of validating a 10-target config, ajv compiled once, beside a baseline
 * measured in the same process: JSON.parse of the same config's text (the least any config load costs).
 * Printed, never asserted.
 */
import { performance } from 'node:perf_hooks';
import { configValidator, validateConfig } from '../schemas/validate';
import { fillRecord } from '../schemas/defaults';
import { PLUGIN_CONFIG } from '../schemas/definition';

const PROVIDERS = [
  { provider: 'openai', name: 'gpt-4o', options: { max_tokens: 512, temperature: 0.2 } },
  { provider: 'anthropic', name: 'claude-sonnet-4', options: { anthropic_version: '2023-06-01', max_tokens: 1024 } },
  { provider: 'azure', name: 'gpt-4o', options: { azure_instance: 'inst', azure_deployment_id: 'dep', azure_api_version: '2024-02-01' } },
  { provider: 'mistral', name: 'mistral-large', options: { mistral_format: 'openai', upstream_url: 'https://api.mistral.ai/v1/chat/completions' } },
  { provider: 'gemini', name: 'gemini-2.0-flash', options: { gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'p', location_id: 'us-central1' } } },
];

function tenTargets(): unknown {
  return {
    balancer: { algorithm: 'lowest-usage', tokens_count_strategy: 'cost', retries: 3, failover_criteria: ['error', 'timeout', 'http_429'] },
    targets: Array.from({ length: 10 }, (_, i) => {
      const model = PROVIDERS[i % PROVIDERS.length] as (typeof PROVIDERS)[number];
      return {
        route_type: 'llm/v1/chat',
        weight: 10 + i,
        description: `target ${i}`,
        auth: model.provider === 'gemini'
          ? { param_name: 'key', param_value: `{vault://env/KEY_${i}}`, param_location: 'query' }
          : { header_name: 'Authorization', header_value: `Bearer sk-${i}` },
        logging: { log_statistics: true, log_payloads: false },
        model: { ...model, options: { ...model.options, input_cost: 2.5, output_cost: 10 } },
      };
    }),
  };
}

interface Candidate {
  label: string;
  fn: () => unknown;
  samples: number[];
}

/** Rounds alternate between candidates, so load on a shared machine colours all of them alike. */
function measureInterleaved(candidates: Candidate[], rounds: number, perRound: number): void {
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (const c of candidates) {
      const t0 = performance.now();
      for (let i = 0; i < perRound; i++) sink += c.fn() ? 1 : 0;
      c.samples.push(((performance.now() - t0) * 1000) / perRound);
    }
  }
  for (const c of candidates) {
    c.samples.sort((a, b) => a - b);
    const median = c.samples[Math.floor(c.samples.length / 2)] as number;
    console.log(`${c.label.padEnd(44)} ${median.toFixed(2).padStart(9)} µs/op  (median of ${rounds} rounds x ${perRound})`);
  }
  if (sink < 0) console.log(sink);
}

const median = (c: Candidate) => c.samples[Math.floor(c.samples.length / 2)] as number;

const config = tenTargets();
const text = JSON.stringify(config);

const c0 = performance.now();
configValidator();
console.log(`ajv compile (once per process)               ${((performance.now() - c0) * 1000).toFixed(0).padStart(9)} µs`);

const check = validateConfig(config);
if (!check.ok) throw new Error('bench config invalid: ' + JSON.stringify(check.errors));
const filled = fillRecord(PLUGIN_CONFIG, config as Record<string, unknown>);
const validate = configValidator();

for (let i = 0; i < 2000; i++) {
  validateConfig(config);
  JSON.parse(text);
}
const baseline: Candidate = { label: 'baseline: JSON.parse of the config text', fn: () => JSON.parse(text), samples: [] };
const full: Candidate = { label: 'validateConfig (defaults + ajv + checks)', fn: () => validateConfig(config).ok, samples: [] };
const ajvOnly: Candidate = { label: '  of which: ajv on the filled config', fn: () => validate(filled), samples: [] };
measureInterleaved([baseline, full, ajvOnly], 21, 1000);
console.log(`\nconfig: 10 targets, ${text.length} bytes of JSON`);
console.log(
  `validateConfig / JSON.parse = ${(median(full) / median(baseline)).toFixed(1)}x   ` +
    `ajv-only / JSON.parse = ${(median(ajvOnly) / median(baseline)).toFixed(1)}x`,
);
