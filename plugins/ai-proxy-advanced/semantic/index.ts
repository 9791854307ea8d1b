/**
 * `balancer.algorithm: semantic`, the engine's side: `prepareSemanticPick` runs once per request before the
 * attempt loop, resolves the prompt's vector (once: every retry reuses the answer) and hands the balancer the
 * ordered candidate groups (balancer/semantic.ts picks inside them). `warmSemantic` starts embedding the
 * descriptions when a plugin instance is created, so the first request rarely waits.
 *
 * Routers live at module scope, one per plugin (Kong creates an instance per worker per config change with no
 * close hook): the same plugin id with the same semantic config keeps its router; a changed config replaces it
 * and closes the old store connection.
 */
import type { FilledConfig } from '../../../schemas/config';
import { canonicalJson } from '../balancer/targets';
import { EmbeddingsError } from '../errors';
import type { SignDeps } from '../providers/provider';
import { createEmbedder, undiciCall, type HttpCall } from './embeddings/embedder';
import { stderrLog, type SemanticLog } from './log';
import { SemanticRouter, type SemanticRoute } from './router';
import { PgvectorStore } from './store/pgvector';
import { RedisStore } from './store/redis';
import type { VectorStore } from './store/store';
import { lastUserText } from './text';
import { sha256hex } from './vector';

export type { SemanticRoute } from './router';

/** Embeddings call timeout and the longest a request waits for description vectors, unless balancer.read_timeout is shorter. */
export const EMBEDDINGS_TIMEOUT_MS = 10_000;
/** Plugins deleted from Kong leave a router behind; past this many the oldest are closed. */
export const MAX_ROUTERS = 1024;

export interface SemanticEnv {
  call: HttpCall;
  log: SemanticLog;
}

let env: SemanticEnv = { call: undiciCall, log: stderrLog };

/** Replace the embeddings HTTP call or the log (benches, tests). */
export function configureSemantic(overrides: Partial<SemanticEnv>): void {
  env = { ...env, ...overrides };
}

interface Held {
  readonly key: string;
  readonly router: SemanticRouter;
}

const routers = new Map<string, Held>();
const byConfig = new WeakMap<object, SemanticRouter>();

function createStore(config: FilledConfig, namespace: string): VectorStore {
  const vdb = config.vectordb!;
  if (vdb.strategy === 'pgvector') return new PgvectorStore(namespace, vdb.dimensions, vdb.distance_metric as 'cosine' | 'euclidean', vdb.pgvector);
  return new RedisStore(namespace, vdb.dimensions, vdb.redis);
}

export function semanticRouterFor(config: FilledConfig, signDeps: SignDeps): SemanticRouter {
  const cached = byConfig.get(config);
  if (cached) return cached;
  if (!config.embeddings || !config.vectordb) throw new EmbeddingsError('balancer.algorithm semantic needs config.embeddings and config.vectordb');
  const key = sha256hex(
    canonicalJson({
      embeddings: config.embeddings,
      vectordb: config.vectordb,
      targets: config.targets.map((t) => t.description ?? ''),
      timeout: config.balancer.read_timeout,
    }),
  );
  const namespace = config.__plugin_id ?? `anonymous-${key.slice(0, 32)}`;
  const held = routers.get(namespace);
  if (held && held.key === key) {
    byConfig.set(config, held.router);
    return held.router;
  }
  if (held) void held.router.close();
  const timeoutMs = Math.min(config.balancer.read_timeout, EMBEDDINGS_TIMEOUT_MS);
  const embedder = createEmbedder(config.embeddings, config.vectordb.dimensions, { call: env.call, signDeps, timeoutMs });
  const router = new SemanticRouter(namespace, config, { embedder, store: createStore(config, namespace), log: env.log, waitMs: timeoutMs });
  routers.delete(namespace);
  routers.set(namespace, { key, router });
  if (routers.size > MAX_ROUTERS) {
    const oldest = routers.keys().next();
    if (!oldest.done) {
      void routers.get(oldest.value)?.router.close();
      routers.delete(oldest.value);
    }
  }
  byConfig.set(config, router);
  return router;
}

/** Close every router and its store connection (tests, shutdown). */
export async function closeSemanticRouters(): Promise<void> {
  const all = [...routers.values()];
  routers.clear();
  await Promise.all(all.map((h) => h.router.close()));
}

/** Before the attempt loop: the candidate groups for this request, or undefined when the algorithm is not semantic. */
export async function prepareSemanticPick(config: FilledConfig, body: Record<string, unknown>, signDeps: SignDeps): Promise<SemanticRoute | undefined> {
  if (config.balancer.algorithm !== 'semantic') return undefined;
  const text = lastUserText(body);
  return semanticRouterFor(config, signDeps).route(text);
}

/** At instance creation: start embedding the descriptions (errors surface on requests, not here). */
export function warmSemantic(config: FilledConfig, signDeps: SignDeps): void {
  if (config.balancer.algorithm !== 'semantic') return;
  try {
    semanticRouterFor(config, signDeps);
  } catch {
    // a config the router refuses answers its error on every request
  }
}
