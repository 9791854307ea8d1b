/**
 * Prometheus metrics, in two groups:
 * - Kong's AI metrics, with the names, labels and buckets of Kong's prometheus plugin (`ai_metrics: true`,
 *   kong/plugins/prometheus/exporter.lua; Kong prefixes every metric with `kong_`). Kong fills them from the
 *   `ai.proxy` block of kong.log.serialize(), which exists only when the target has `logging.log_statistics`;
 *   these are filled from the same block, so they count exactly what Kong's would, streamed requests included.
 * - What a balancer operator needs and Kong lacks: failovers per target and each target's circuit state.
 *
 * `createAiMetrics(registry)` builds them on any prom-client Registry: the plugin server exposes prom-client's
 * global registry (kong/pluginserver/metrics-server.ts), and the local gateway's prometheus plugin its own.
 */
import { Counter, Gauge, Histogram, register as globalRegistry, type Registry } from 'prom-client';
import type { AiProxyBlock } from '../engine/analytics';

/** exporter.lua AI_LLM_PROVIDER_LATENCY_BUCKETS. */
export const AI_LLM_PROVIDER_LATENCY_BUCKETS = [250, 500, 1000, 1500, 2000, 2500, 3000, 3500, 4000, 4500, 5000, 10000, 30000, 60000];
const AI_LABELS = ['ai_provider', 'ai_model', 'cache_status', 'vector_db', 'embeddings_provider', 'embeddings_model', 'workspace'] as const;
const AI_TOKEN_LABELS = ['ai_provider', 'ai_model', 'cache_status', 'vector_db', 'embeddings_provider', 'embeddings_model', 'token_type', 'workspace'] as const;

/** One target's circuit as the circuit-state gauge reports it. */
export interface CircuitSample {
  pluginId: string;
  target: number;
  provider: string;
  model: string;
  state: 'closed' | 'open' | 'half-open';
  fails: number;
}

/**
 * Distinct (provider, model, workspace) label sets kept. A model name can come from the request body (a target
 * without `model.name`), so a client could otherwise grow the registry without bound; beyond this many, further
 * models are counted under ai_model="other".
 */
export const MAX_MODEL_SERIES = 1000;

interface Children {
  requests: { inc(v?: number): void };
  cost: { inc(v?: number): void };
  latency: { observe(v: number): void };
  prompt: { inc(v?: number): void };
  completion: { inc(v?: number): void };
  total: { inc(v?: number): void };
}

export class AiMetrics {
  readonly requests: Counter<(typeof AI_LABELS)[number]>;
  readonly cost: Counter<(typeof AI_LABELS)[number]>;
  readonly tokens: Counter<(typeof AI_TOKEN_LABELS)[number]>;
  readonly latency: Histogram<(typeof AI_LABELS)[number]>;
  readonly failovers: Counter<'plugin_id' | 'ai_provider' | 'ai_model'>;
  /** Bound label children per (provider, model, workspace), built once; their number is capped (MAX_MODEL_SERIES). */
  private readonly children = new Map<string, Children>();

  constructor(
    readonly registry: Registry,
    circuits?: () => Iterable<CircuitSample>,
  ) {
    const registers = [registry];
    this.requests = new Counter({ name: 'kong_ai_llm_requests_total', help: 'AI requests total per ai_provider in Kong', labelNames: AI_LABELS, registers });
    this.cost = new Counter({ name: 'kong_ai_llm_cost_total', help: 'AI requests cost per ai_provider/cache in Kong', labelNames: AI_LABELS, registers });
    this.tokens = new Counter({ name: 'kong_ai_llm_tokens_total', help: 'AI requests cost per ai_provider/cache in Kong', labelNames: AI_TOKEN_LABELS, registers });
    this.latency = new Histogram({
      name: 'kong_ai_llm_provider_latency_ms',
      help: 'LLM response Latency for each AI plugins per ai_provider in Kong',
      labelNames: AI_LABELS,
      buckets: AI_LLM_PROVIDER_LATENCY_BUCKETS,
      registers,
    });
    this.failovers = new Counter({
      name: 'kong_ai_proxy_advanced_failovers_total',
      help: 'Attempts of ai-proxy-advanced that failed over to another target, per failed target',
      labelNames: ['plugin_id', 'ai_provider', 'ai_model'],
      registers,
    });
    if (circuits) {
      new Gauge({
        name: 'kong_ai_proxy_advanced_target_circuit_state',
        help: "ai-proxy-advanced target circuit breaker state (1 for the target's current state)",
        labelNames: ['plugin_id', 'target', 'ai_provider', 'ai_model', 'state'],
        registers,
        collect() {
          this.reset();
          for (const c of circuits()) {
            for (const state of ['closed', 'open', 'half-open'] as const) {
              this.set({ plugin_id: c.pluginId, target: String(c.target), ai_provider: c.provider, ai_model: c.model, state }, c.state === state ? 1 : 0);
            }
          }
        },
      });
      new Gauge({
        name: 'kong_ai_proxy_advanced_target_fails',
        help: 'ai-proxy-advanced failures counted towards balancer.max_fails per target',
        labelNames: ['plugin_id', 'target', 'ai_provider', 'ai_model'],
        registers,
        collect() {
          this.reset();
          for (const c of circuits()) this.set({ plugin_id: c.pluginId, target: String(c.target), ai_provider: c.provider, ai_model: c.model }, c.fails);
        },
      });
    }
  }

  /**
   * Kong's exporter.lua log(): one request, its cost when > 0, the provider latency when >= 0, and each token
   * count when > 0, labelled by provider and *request* model (meta.request_model), as Kong does.
   */
  observe(block: AiProxyBlock, workspace: string): void {
    const c = this.childrenFor(block.meta.provider_name, block.meta.request_model, workspace);
    c.requests.inc();
    if (block.usage.cost > 0) c.cost.inc(block.usage.cost);
    if (block.meta.llm_latency >= 0) c.latency.observe(block.meta.llm_latency);
    if (block.usage.prompt_tokens > 0) c.prompt.inc(block.usage.prompt_tokens);
    if (block.usage.completion_tokens > 0) c.completion.inc(block.usage.completion_tokens);
    if (block.usage.total_tokens > 0) c.total.inc(block.usage.total_tokens);
  }

  private childrenFor(provider: string, model: string, workspace: string): Children {
    const key = `${provider}\u0000${model}\u0000${workspace}`;
    let c = this.children.get(key);
    if (c) return c;
    if (this.children.size >= MAX_MODEL_SERIES && model !== 'other') return this.childrenFor(provider, 'other', workspace);
    const labels = { ai_provider: provider, ai_model: model, cache_status: '', vector_db: '', embeddings_provider: '', embeddings_model: '', workspace };
    c = {
      requests: this.requests.labels(labels),
      cost: this.cost.labels(labels),
      latency: this.latency.labels(labels),
      prompt: this.tokens.labels({ ...labels, token_type: 'prompt_tokens' }),
      completion: this.tokens.labels({ ...labels, token_type: 'completion_tokens' }),
      total: this.tokens.labels({ ...labels, token_type: 'total_tokens' }),
    };
    this.children.set(key, c);
    return c;
  }

  /** Every attempt but the last of a request failed over: one count per target that was left. */
  failedOver(pluginId: string, tried: ReadonlyArray<{ provider: string; model: string }>): void {
    for (let i = 0; i < tried.length - 1; i++) {
      const t = tried[i] as { provider: string; model: string };
      this.failovers.inc({ plugin_id: pluginId, ai_provider: t.provider, ai_model: t.model });
    }
  }
}

let processMetrics: AiMetrics | undefined;
let circuitSource: (() => Iterable<CircuitSample>) | undefined;

/** Where the process-wide metrics read circuit states from (set once by the plugin's wiring). */
export function setCircuitSource(source: () => Iterable<CircuitSample>): void {
  circuitSource = source;
}

/**
 * The plugin server's metrics, on prom-client's global registry (what kong/pluginserver exposes on
 * AI_PROXY_ADVANCED_METRICS_PORT). Created on first use.
 */
export function pluginMetrics(): AiMetrics {
  if (!processMetrics) processMetrics = new AiMetrics(globalRegistry, () => (circuitSource ? circuitSource() : []));
  return processMetrics;
}
