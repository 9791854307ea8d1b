/**
 * Opt-in cluster sharing of balancer state (sync.ts): set AI_PROXY_ADVANCED_CLUSTER_REDIS on the plugin server
 * to a Redis URL: one server, Sentinel or Redis Cluster (setting.ts lists the forms). Unset, nothing here runs
 * and balancing is exactly as without it: per process, as Kong's is per worker.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { DEFAULT_DEPS, observeBalancerStates } from '../balancer/registry';
import { clusterOptions, clusterSetting, type ClusterSetting } from './setting';
import { ClusterSync, type RedisClient } from './sync';

export { CLUSTER_ENV, ClusterSettingError, clusterSetting, parseClusterSetting, type ClusterSetting } from './setting';

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

/** The subscriber keeps its queue: it only ever sends SUBSCRIBE, which ioredis replays on reconnect. */
const SUBSCRIBER: RedisOptions = { ...FAIL_FAST, enableOfflineQueue: true, lazyConnect: false, commandTimeout: undefined };

/** One ioredis client for the setting's form (server, Sentinel or Cluster) with `options`. */
export function connectCluster(setting: ClusterSetting, options: RedisOptions): RedisClient {
  switch (setting.kind) {
    case 'server':
      return new Redis(setting.url, options);
    case 'sentinel':
      return new Redis({ ...options, ...setting.options });
    case 'cluster':
      return new Cluster(setting.nodes, clusterOptions(setting, options));
  }
}

/** The flush client and the subscriber for a setting. */
export function clusterClients(setting: ClusterSetting): { redis: RedisClient; sub: RedisClient } {
  return { redis: connectCluster(setting, FAIL_FAST), sub: connectCluster(setting, SUBSCRIBER) };
}

let running: ClusterSync | undefined;

/** Starts the cluster sync when the setting is present (once per process); returns it, else undefined. */
export function startClusterFromEnv(env: NodeJS.ProcessEnv = process.env, log: (m: string) => void = stderrLog): ClusterSync | undefined {
  if (running !== undefined) return running;
  let setting: ClusterSetting | undefined;
  try {
    setting = clusterSetting(env);
  } catch (e) {
    // Said once, at plugin-server start; a bad setting must not take the plugin down: balance locally.
    log(`error: ${(e as Error).message}; balancer state stays local to this process`);
    return undefined;
  }
  if (setting === undefined) return undefined;
  const { redis, sub } = clusterClients(setting);
  const nodeId = `${hostname().slice(0, 64)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  running = new ClusterSync(redis, sub, { now: DEFAULT_DEPS.now, nodeId, log, random: DEFAULT_DEPS.random });
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
