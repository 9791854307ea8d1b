/**
 * Prometheus metrics, in two groups:
 * - Kong's AI metrics, with the names, labels and buckets of Kong's prometheus plugin (`ai_metrics: true`,
 *   kong/plugins/prometheus/exporter.lua; Kong prefixes every metric with `kong_`). Kong fills them from the
 *   `ai.proxy` block of kong.log.serialize(), which exists only when the target has `logging.log_statistics`;
 *   these are filled from the same block, so they count exactly what Kong's would, streamed requests included.
 * - What a balancer operator needs and Kong lacks: failovers per target and each target's circuit state.
 *
 * The plugin server builds both (AiMetrics) on prom-client's global registry (kong/pluginserver/metrics-server.ts);
 * the local gateway's prometheus plugin builds only Kong's (KongAiMetrics) on its own.
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

/**
 * One (provider, model, workspace) series of Kong's AI metrics, counted in plain numbers on the request path and
 * handed to prom-client when a scrape collects: prom-client hashes the label set on every inc/observe, even
 * through a bound child, and that was ~5 µs of every logged request (issue 13's CPU budget).
 */
interface Series {
  labels: Record<(typeof AI_LABELS)[number], string>;
  requests: number;
  cost: number;
  prompt: number;
  completion: number;
  total: number;
  /** Latencies observed since the last collect (at most PENDING_LATENCIES, then handed over at once). */
  latencies: number[];
}

/** Pending latencies per series before they are handed to the histogram without waiting for a scrape. */
const PENDING_LATENCIES = 1024;

/**
 * Pending latencies over all series together. The per-series cap alone let memory grow with the number of series
 * (up to MAX_MODEL_SERIES x PENDING_LATENCIES numbers, ~10 MB for 1000 models never scraped); past this many every
 * series hands its latencies over at once, so what waits for a scrape stays under ~64 KiB of numbers plus arrays.
 */
export const MAX_PENDING_LATENCIES = 8192;

/**
 * Kong's AI metrics (exporter.lua, `ai_metrics: true`). The local gateway's prometheus plugin builds only these:
 * the balancer metrics belong to the plugin server alone, and a family registered on both would be printed twice
 * on the Admin API's merged GET /metrics (two `# TYPE` lines for one name: Prometheus rejects the scrape).
 */
export class KongAiMetrics {
  readonly requests: Counter<(typeof AI_LABELS)[number]>;
  readonly cost: Counter<(typeof AI_LABELS)[number]>;
  readonly tokens: Counter<(typeof AI_TOKEN_LABELS)[number]>;
  readonly latency: Histogram<(typeof AI_LABELS)[number]>;
  /** One series per (provider, model, workspace), built once; their number is capped (MAX_MODEL_SERIES). */
  private readonly series = new CappedSeries<Series>();
  private readonly all: Series[] = [];
  /** Latencies waiting in every series' `latencies` (bounded by MAX_PENDING_LATENCIES). */
  private pendingLatencies = 0;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    // Every family's collect hands over all pending counts (the first one a scrape calls does the work).
    const flush = (): void => this.flush();
    this.requests = new Counter({ name: 'kong_ai_llm_requests_total', help: 'AI requests total per ai_provider in Kong', labelNames: AI_LABELS, registers, collect: flush });
    this.cost = new Counter({ name: 'kong_ai_llm_cost_total', help: 'AI requests cost per ai_provider/cache in Kong', labelNames: AI_LABELS, registers, collect: flush });
    this.tokens = new Counter({ name: 'kong_ai_llm_tokens_total', help: 'AI requests cost per ai_provider/cache in Kong', labelNames: AI_TOKEN_LABELS, registers, collect: flush });
    this.latency = new Histogram({
      name: 'kong_ai_llm_provider_latency_ms',
      help: 'LLM response Latency for each AI plugins per ai_provider in Kong',
      labelNames: AI_LABELS,
      buckets: AI_LLM_PROVIDER_LATENCY_BUCKETS,
      registers,
      collect: flush,
    });
  }

  /**
   * Kong's exporter.lua log(): one request, its cost when > 0, the provider latency when >= 0, and each token
   * count when > 0, labelled by provider and *request* model (meta.request_model), as Kong does.
   */
  observe(block: AiProxyBlock, workspace: string): void {
    const s = this.series.get(block.meta.provider_name, block.meta.request_model, workspace, (model) => {
      const made: Series = {
        labels: { ai_provider: block.meta.provider_name, ai_model: model, cache_status: '', vector_db: '', embeddings_provider: '', embeddings_model: '', workspace },
        requests: 0,
        cost: 0,
        prompt: 0,
        completion: 0,
        total: 0,
        latencies: [],
      };
      this.all.push(made);
      return made;
    });
    s.requests++;
    if (block.usage.cost > 0) s.cost += block.usage.cost;
    if (block.meta.llm_latency >= 0) {
      s.latencies.push(block.meta.llm_latency);
      this.pendingLatencies++;
      if (this.pendingLatencies >= MAX_PENDING_LATENCIES) for (const each of this.all) this.flushLatencies(each);
      else if (s.latencies.length >= PENDING_LATENCIES) this.flushLatencies(s);
    }
    if (block.usage.prompt_tokens > 0) s.prompt += block.usage.prompt_tokens;
    if (block.usage.completion_tokens > 0) s.completion += block.usage.completion_tokens;
    if (block.usage.total_tokens > 0) s.total += block.usage.total_tokens;
  }

  /** Hands what was counted since the last flush to prom-client (Kong's series appear on their first request). */
  private flush(): void {
    for (const s of this.all) {
      if (s.requests > 0) this.requests.inc(s.labels, s.requests);
      if (s.cost > 0) this.cost.inc(s.labels, s.cost);
      if (s.prompt > 0) this.tokens.inc({ ...s.labels, token_type: 'prompt_tokens' }, s.prompt);
      if (s.completion > 0) this.tokens.inc({ ...s.labels, token_type: 'completion_tokens' }, s.completion);
      if (s.total > 0) this.tokens.inc({ ...s.labels, token_type: 'total_tokens' }, s.total);
      s.requests = s.cost = s.prompt = s.completion = s.total = 0;
      this.flushLatencies(s);
    }
  }

  private flushLatencies(s: Series): void {
    for (const v of s.latencies) this.latency.observe(s.labels, v);
    this.pendingLatencies -= s.latencies.length;
    s.latencies.length = 0;
  }

  /** Latencies not yet handed to the histogram (for tests of the bound). */
  get pendingLatencyCount(): number {
    return this.pendingLatencies;
  }
}

/**
 * Label children keyed by (scope, model, scope2), at most MAX_MODEL_SERIES of them: a model name can come from
 * the request body, so beyond the cap further models share the child of model "other".
 */
class CappedSeries<C> {
  private readonly children = new Map<string, C>();
  get(a: string, model: string, b: string, make: (model: string) => C): C {
    const key = `${a}\u0000${model}\u0000${b}`;
    let c = this.children.get(key);
    if (c) return c;
    if (this.children.size >= MAX_MODEL_SERIES && model !== 'other') return this.get(a, 'other', b, make);
    c = make(model);
    this.children.set(key, c);
    return c;
  }
}

/** What a balancer operator needs and Kong lacks: failovers per target and each target's circuit state. */
export class BalancerMetrics {
  readonly failovers: Counter<'plugin_id' | 'ai_provider' | 'ai_model'>;
  private readonly failoverChildren = new CappedSeries<{ inc(v?: number): void }>();

  constructor(
    readonly registry: Registry,
    circuits?: () => Iterable<CircuitSample>,
  ) {
    const registers = [registry];
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
   * Every attempt but the last of a request failed over: one count per target that was left. The model may be
   * the client's (a target without model.name), so it goes through the same capped lookup as observe().
   */
  failedOver(pluginId: string, tried: ReadonlyArray<{ provider: string; model: string }>): void {
    for (let i = 0; i < tried.length - 1; i++) {
      const t = tried[i] as { provider: string; model: string };
      this.failoverChildren.get(pluginId, t.model, t.provider, (model) => this.failovers.labels({ plugin_id: pluginId, ai_provider: t.provider, ai_model: model })).inc();
    }
  }
}

/** The plugin server's metrics: Kong's AI metrics and the balancer metrics, on one registry. */
export class AiMetrics {
  readonly kong: KongAiMetrics;
  readonly balancer: BalancerMetrics;
  constructor(
    readonly registry: Registry,
    circuits?: () => Iterable<CircuitSample>,
  ) {
    this.kong = new KongAiMetrics(registry);
    this.balancer = new BalancerMetrics(registry, circuits);
  }
  observe(block: AiProxyBlock, workspace: string): void {
    this.kong.observe(block, workspace);
  }
  failedOver(pluginId: string, tried: ReadonlyArray<{ provider: string; model: string }>): void {
    this.balancer.failedOver(pluginId, tried);
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
