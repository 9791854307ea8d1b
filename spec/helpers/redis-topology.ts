/**
 * Real Redis Cluster and Sentinel topologies for the cluster tests (spec/cluster/topologies.test.ts), built
 * from redis-server and redis-cli (Debian's redis-tools, which .ci/run installs with redis-server). Every wait
 * has a deadline.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { RedisServer } from './redis-server';

const run = promisify(execFile);

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (port + 10000) is free too: below the ephemeral range so both fit. */
async function clusterPort(taken: Set<number>): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const p = 20000 + Math.floor(Math.random() * 20000);
    if (taken.has(p) || taken.has(p + 10000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10000))) {
      taken.add(p);
      taken.add(p + 10000);
      return p;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

async function until(fn: () => Promise<boolean>, what: string, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    if (await fn().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export interface Topology {
  /** The AI_PROXY_ADVANCED_CLUSTER_REDIS value that reaches it. */
  url: string;
  servers: RedisServer[];
  stop(): Promise<void>;
}

/** `masters` cluster-enabled redis-servers joined by `redis-cli --cluster create`, all slots covered. */
export async function startRedisCluster(masters = 3): Promise<Topology> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aipa-rc-'));
  const taken = new Set<number>();
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      const port = await clusterPort(taken);
      servers.push(await RedisServer.start(['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--dir', dir], { port }));
    }
    const addrs = servers.map((s) => `127.0.0.1:${s.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addrs, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const s of servers) {
      await until(async () => (await run('redis-cli', ['-p', String(s.port), 'cluster', 'info'], { timeout: 5000 })).stdout.includes('cluster_state:ok'), `cluster_state:ok on ${s.port}`);
    }
    return { url: `redis+cluster://${addrs.join(',')}`, servers, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A master redis-server and one Sentinel (quorum 1) watching it as `mymaster`. */
export async function startSentinel(): Promise<Topology> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'aipa-rs-'));
  const servers: RedisServer[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const master = await RedisServer.start();
    servers.push(master);
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, `sentinel monitor mymaster 127.0.0.1 ${master.port} 1\n`);
    const sentinel = await RedisServer.start(['--sentinel', '--dir', dir], { configFile: conf });
    servers.push(sentinel);
    await until(
      async () => (await run('redis-cli', ['-p', String(sentinel.port), 'sentinel', 'get-master-addr-by-name', 'mymaster'], { timeout: 5000 })).stdout.includes(String(master.port)),
      'the sentinel to know its master',
    );
    return { url: `redis+sentinel://127.0.0.1:${sentinel.port}/mymaster`, servers, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
