/**
 * Opt-in cluster sharing of balancer state (sync.ts): set AI_PROXY_ADVANCED_CLUSTER_REDIS on the plugin server
 * to a redis:// or rediss:// URL (ioredis's URL form: user, password, db, `?family=`...). Unset, nothing here
 * runs and balancing is exactly as without it: per process, as Kong's is per worker.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import Redis, { type RedisOptions } from 'ioredis';
import { DEFAULT_DEPS, observeBalancerStates } from '../balancer/registry';
import { ClusterSync } from './sync';

export const CLUSTER_ENV = 'AI_PROXY_ADVANCED_CLUSTER_REDIS';

export class ClusterSettingError extends Error {
  readonly code = 'cluster_setting';
}

/** The URL from the setting, or undefined when unset/empty. Throws ClusterSettingError for anything else. */
export function clusterUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env[CLUSTER_ENV]?.trim();
  if (raw === undefined || raw === '') return undefined;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new ClusterSettingError(`${CLUSTER_ENV} is not a URL (expected redis://host:port or rediss://host:port)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new ClusterSettingError(`${CLUSTER_ENV} must use redis:// or rediss://, not ${u.protocol}//`);
  }
  return raw;
}

/**
 * Fail-fast client options: no offline queue (a command while disconnected fails at once instead of waiting),
 * one retry per command, short connect and command timeouts (a Redis that accepts but never answers must not
 * stall the flush loop), reconnect forever with a capped backoff.
 */
export const FAIL_FAST: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 1000,
  commandTimeout: 1000,
  lazyConnect: true,
  retryStrategy: (times) => Math.min(50 * times, 1000),
};

let running: ClusterSync | undefined;

/** Starts the cluster sync when the setting is present (once per process); returns it, else undefined. */
export function startClusterFromEnv(env: NodeJS.ProcessEnv = process.env, log: (m: string) => void = stderrLog): ClusterSync | undefined {
  if (running !== undefined) return running;
  let url: string | undefined;
  try {
    url = clusterUrl(env);
  } catch (e) {
    // A bad setting must not take the plugin down: say so once and balance locally.
    log(`${(e as Error).message}; balancer state stays local`);
    return undefined;
  }
  if (url === undefined) return undefined;
  const redis = new Redis(url, FAIL_FAST);
  // The subscriber keeps its queue: it only ever sends SUBSCRIBE, which ioredis replays on reconnect.
  const sub = new Redis(url, { ...FAIL_FAST, enableOfflineQueue: true, lazyConnect: false, commandTimeout: undefined });
  const nodeId = `${hostname().slice(0, 64)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  running = new ClusterSync(redis, sub, { now: DEFAULT_DEPS.now, nodeId, log });
  observeBalancerStates(running);
  void running.start();
  return running;
}

/**
 * A promise to await before a pick for plugin `pluginId` while the cluster's state is being read back (at start,
 * or for a plugin configured since); undefined otherwise, and always when the cluster is off.
 */
export function clusterGate(pluginId: string | undefined): Promise<void> | undefined {
  return running?.gate(pluginId);
}

function stderrLog(message: string): void {
  process.stderr.write(`[ai-proxy-advanced] ${message}\n`);
}

export { ClusterSync } from './sync';
