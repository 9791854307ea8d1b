/**
 * One plugin config's semantic routing: the description vectors, the store, the embeddings call, and the
 * nearest-target search (semantic-routing.md "Behaviour", Kong 3.10–3.14 rules):
 * - targets with identical descriptions form a group (3.13); `CATCHALL` targets form the fallback group;
 * - the prompt's vector is compared with every distinct description's vector in process (exact KNN, the same
 *   answer as Kong's FLAT index); pgvector asks the store first (`<=>` / `<->`) and falls back to memory;
 * - the nearest description within `vectordb.threshold` (a maximum distance) wins; else CATCHALL; else Kong's
 *   500, naming the threshold;
 * - the groups come back in failover order: the matched group, then CATCHALL.
 *
 * Description vectors are resolved once per process per (plugin id, embeddings config, dimensions,
 * description) (descriptionVectors below): from memory, else from the store (another node or an earlier process
 * paid for them), else by the embeddings call, then written to the store. A failed embedding is retried in
 * the background with a capped backoff and logged once per failure streak. Requests wait for the vectors at most
 * `waitMs`; while some are missing, routing treats it as an embeddings outage (CATCHALL, else a 500 naming the
 * embeddings call), since routing among the others could send a prompt meant for the missing one elsewhere.
 */
import type { FilledConfig } from '../../../schemas/config';
import { canonicalJson } from '../balancer/targets';
import { AiProxyError, EmbeddingsError, NoHealthyTargetError } from '../errors';
import type { Embedder } from './embeddings/embedder';
import type { SemanticLog } from './log';
import type { VectorStore } from './store/store';
import { distanceFor, dot, norm, sha256hex, type DistanceFn, type Metric } from './vector';

export const CATCHALL = 'CATCHALL';
/** `vectordb.threshold` is optional from 3.13; Kong's docs give 0.2 as the default. */
export const DEFAULT_THRESHOLD = 0.2;
/** Description vectors kept per process (all plugins); past this the oldest are dropped (re-read from the store). */
export const MAX_DESCRIPTION_VECTORS = 65_536;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

/** The ordered candidate groups for one request: target indexes, matched group first, CATCHALL last. */
export interface SemanticRoute {
  readonly groups: readonly (readonly number[])[];
}

interface Entry {
  readonly description: string;
  readonly sha: string;
  /** Key in the process-wide cache: plugin id + embeddings config + dimensions + description. */
  readonly cacheKey: string;
  readonly group: number[];
  vector: Float32Array | undefined;
  /** |vector|, for cosine: computed once so a pick is one dot product per description. */
  norm: number;
}

const descriptionVectors = new Map<string, Float32Array>();

function remember(key: string, v: Float32Array): void {
  descriptionVectors.delete(key);
  descriptionVectors.set(key, v);
  if (descriptionVectors.size > MAX_DESCRIPTION_VECTORS) {
    const oldest = descriptionVectors.keys().next().value;
    if (oldest !== undefined) descriptionVectors.delete(oldest);
  }
}

/** Forget every cached description vector (tests: a "new process"). */
export function clearDescriptionVectors(): void {
  descriptionVectors.clear();
}

export interface RouterDeps {
  embedder: Embedder;
  store: VectorStore | undefined;
  log: SemanticLog;
  /** Longest a request waits for description vectors still being embedded. */
  waitMs: number;
  setTimer?: (fn: () => void, ms: number) => { unref?(): unknown };
}

export class SemanticRouter {
  readonly entries: readonly Entry[];
  readonly catchall: readonly number[];
  readonly threshold: number;
  readonly distance: DistanceFn;
  readonly dimensions: number;
  private readonly cosine: boolean;
  private readonly settled: Promise<void>;
  private lastError: unknown;
  private failures = 0;
  private closed = false;

  constructor(
    readonly namespace: string,
    config: FilledConfig,
    private readonly deps: RouterDeps,
  ) {
    const vdb = config.vectordb;
    if (!vdb || !config.embeddings) throw new EmbeddingsError('balancer.algorithm semantic needs config.embeddings and config.vectordb');
    this.threshold = vdb.threshold ?? DEFAULT_THRESHOLD;
    this.dimensions = vdb.dimensions;
    this.cosine = vdb.distance_metric === 'cosine';
    this.distance = distanceFor(vdb.distance_metric as Metric, vdb.strategy as 'redis' | 'pgvector');
    const embeddingsKey = canonicalJson({ embeddings: config.embeddings, dimensions: vdb.dimensions });
    const byDescription = new Map<string, Entry>();
    const catchall: number[] = [];
    config.targets.forEach((t, i) => {
      const d = t.description ?? '';
      if (d === CATCHALL) {
        catchall.push(i);
        return;
      }
      let e = byDescription.get(d);
      if (!e) {
        const cacheKey = sha256hex(`${namespace}\n${embeddingsKey}\n${d}`);
        const vector = descriptionVectors.get(cacheKey);
        e = { description: d, sha: sha256hex(d), cacheKey, group: [], vector, norm: vector ? norm(vector) : 0 };
        byDescription.set(d, e);
      }
      e.group.push(i);
    });
    this.entries = [...byDescription.values()];
    this.catchall = catchall;
    deps.store?.onChange((up) => {
      if (this.closed) return;
      if (!up) {
        deps.log(`vectordb ${deps.store?.strategy} unreachable for plugin ${namespace}; routing from the description vectors in memory`);
        return;
      }
      deps.log(`vectordb ${deps.store?.strategy} reachable again for plugin ${namespace}; re-syncing description vectors`);
      void this.saveKnown();
    });
    this.settled = this.resolve();
  }

  /** Resolves once every description has a vector, or after the first round when some failed (then retries). */
  private async resolve(): Promise<void> {
    let missing = this.entries.filter((e) => !e.vector);
    if (missing.length === 0) return;
    const store = this.deps.store;
    if (store) {
      try {
        const stored = await store.loadDescriptions(missing.map((e) => e.sha));
        for (const e of missing) {
          const v = stored.get(e.sha);
          if (v) this.setVector(e, v);
        }
      } catch {
        // The store's outage is logged by its state listener; the embeddings call still works.
      }
      missing = missing.filter((e) => !e.vector);
    }
    if (missing.length === 0) return;
    const fresh = new Map<string, Float32Array>();
    let firstError: unknown;
    await Promise.all(
      missing.map(async (e) => {
        try {
          const v = await this.deps.embedder.embed(e.description);
          this.setVector(e, v);
          fresh.set(e.sha, v);
        } catch (err) {
          firstError ??= err;
          if (this.failures === 0) {
            this.deps.log(`could not embed the description of targets[${e.group.join(',')}] for plugin ${this.namespace}: ${(err as Error).message}; retrying in the background`);
          }
        }
      }),
    );
    if (store && fresh.size > 0) await store.saveDescriptions(fresh).catch(() => undefined);
    if (firstError === undefined) {
      if (this.failures > 0) this.deps.log(`description vectors for plugin ${this.namespace} embedded after ${this.failures} failed round(s)`);
      this.failures = 0;
      this.lastError = undefined;
      return;
    }
    this.lastError = firstError;
    this.failures++;
    if (this.closed) return;
    const delay = Math.min(RETRY_MIN_MS * 2 ** (this.failures - 1), RETRY_MAX_MS);
    const timer = (this.deps.setTimer ?? setTimeout)(() => {
      if (!this.closed) void this.resolve();
    }, delay);
    timer.unref?.();
  }

  private setVector(e: Entry, v: Float32Array): void {
    e.vector = v;
    e.norm = norm(v);
    remember(e.cacheKey, v);
  }

  private async saveKnown(): Promise<void> {
    const all = new Map<string, Float32Array>();
    for (const e of this.entries) if (e.vector) all.set(e.sha, e.vector);
    if (all.size > 0) await this.deps.store?.saveDescriptions(all).catch(() => undefined);
  }

  /** True when every description has its vector. */
  get ready(): boolean {
    return this.entries.every((e) => e.vector !== undefined);
  }

  private async waitReady(): Promise<void> {
    if (this.ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.settled, new Promise<void>((r) => (timer = setTimeout(r, this.deps.waitMs)))]);
    if (timer) clearTimeout(timer);
  }

  /** The prompt's vector: the store's shared cache (redis), else one embeddings call, then cached. */
  async promptVector(text: string): Promise<Float32Array> {
    const { embedder, store } = this.deps;
    const key = sha256hex(`${embedder.url}\n${embedder.model}\n${this.dimensions}\n${text}`);
    if (store?.getPrompt && store.up) {
      try {
        const hit = await store.getPrompt(key);
        if (hit) return hit;
      } catch {
        // outage: logged by the state listener; embed instead
      }
    }
    const v = await embedder.embed(text);
    if (store?.setPrompt && store.up) store.setPrompt(key, v).catch(() => undefined);
    return v;
  }

  /** The nearest description in memory, or undefined when there are none. Pure: the bench measures this. */
  nearestInMemory(prompt: Float32Array): { entry: Entry; distance: number } | undefined {
    let best: Entry | undefined;
    let bestD = Infinity;
    const pn = this.cosine ? norm(prompt) : 0;
    for (const e of this.entries) {
      if (!e.vector) continue;
      // cosine: 1 − a·b / (|a||b|) with |b| precomputed (a zero vector is at distance 1, as cosineDistance says)
      const d = this.cosine ? (pn === 0 || e.norm === 0 ? 1 : 1 - dot(prompt, e.vector) / (pn * e.norm)) : this.distance(prompt, e.vector);
      if (d < bestD) {
        bestD = d;
        best = e;
      }
    }
    return best ? { entry: best, distance: bestD } : undefined;
  }

  private async nearest(prompt: Float32Array): Promise<{ entry: Entry; distance: number } | undefined> {
    const store = this.deps.store;
    // Asked even while down: the pgvector store fails fast then, except for one probe per RETRY_AFTER_MS, which
    // is how its return is noticed (pg has no reconnecting client of its own).
    if (store?.nearest) {
      try {
        const hits = await store.nearest(prompt, this.entries.map((e) => e.sha));
        const first = hits[0];
        const entry = first && this.entries.find((e) => e.sha === first.sha);
        // The store answers only for vectors it holds: when it misses one, memory has them all.
        if (entry && hits.length === this.entries.length) return { entry, distance: first.distance };
      } catch {
        // outage: fall back to memory
      }
    }
    return this.nearestInMemory(prompt);
  }

  /** Groups from a distance: matched group then CATCHALL, or CATCHALL, or Kong's 500 naming the threshold. */
  groupsFor(best: { entry: Entry; distance: number } | undefined): SemanticRoute {
    if (best && best.distance <= this.threshold) {
      return { groups: this.catchall.length > 0 ? [best.entry.group, this.catchall] : [best.entry.group] };
    }
    if (this.catchall.length > 0) return { groups: [this.catchall] };
    const nearest = best ? ` (nearest description at distance ${best.distance.toFixed(4)})` : '';
    throw new NoHealthyTargetError(
      `failed to get peer: no target description is within vectordb.threshold ${this.threshold} of the prompt${nearest}, and no target has description CATCHALL`,
    );
  }

  async route(text: string): Promise<SemanticRoute> {
    await this.waitReady();
    let prompt: Float32Array | undefined;
    let failure: unknown;
    if (!this.ready) {
      failure = this.lastError ?? new EmbeddingsError(`description vectors for plugin ${this.namespace} are not ready after ${this.deps.waitMs} ms`);
    } else {
      try {
        prompt = await this.promptVector(text);
      } catch (err) {
        failure = err;
      }
    }
    if (!prompt) {
      if (this.catchall.length > 0) return { groups: [this.catchall] };
      if (failure instanceof EmbeddingsError) throw failure;
      const why = failure instanceof AiProxyError || failure instanceof Error ? failure.message : String(failure);
      throw new EmbeddingsError(`semantic routing failed: ${why}`, { cause: failure });
    }
    return this.groupsFor(await this.nearest(prompt));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.deps.store?.close();
  }
}
