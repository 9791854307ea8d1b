#!/usr/bin/env node
/**
 * `ai-proxy-advanced-pluginserver` / `npm run pluginserver -- <flags>`: a drop-in for kong-pdk 0.6.0's
 * kong-js-pluginserver (same flags, same RPC), usable as Kong's pluginserver_<name>_start_cmd and _query_cmd:
 *
 *   pluginserver_js_start_cmd = /usr/bin/node <repo>/dist/kong/pluginserver/cli.js -p /usr/local/kong
 *   pluginserver_js_query_cmd = /usr/bin/node <repo>/dist/kong/pluginserver/cli.js --dump-all-plugins
 *
 * stdout carries only the dump (JSON or msgpack); logs, load warnings and anything a plugin prints while
 * loading go to stderr, so Kong's `cjson.decode` of the dump cannot be corrupted.
 */
import path from 'node:path';
import { CliError, parseArgs, USAGE } from './args';
import { encodeJs } from './js-msgpack';
import { listen, type Listening } from './listener';
import { metricsAddress, startMetricsServer } from './metrics-server';
import { createLogger } from './log';
import { PluginServer } from './server';

/** How long SIGTERM waits for in-flight requests: AI_PROXY_PLUGINSERVER_DRAIN_MS, default 3 s. */
const DRAIN_MS = Math.min(60_000, Math.max(0, Number(process.env.AI_PROXY_PLUGINSERVER_DRAIN_MS ?? 3000) || 0));

/** The project's own built plugins: dist/plugins next to dist/kong. */
export const DEFAULT_PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');

function version(): string {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.resolve(__dirname, '..', '..', '..', 'package.json')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function exitAfter(write: (data: string | Uint8Array, cb: () => void) => boolean, data: string | Uint8Array): void {
  // Exit explicitly: a plugin module that opened a timer or socket at load time must not hang Kong's start.
  write(data, () => process.exit(0));
}

async function main(): Promise<void> {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof CliError) {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
  if (opts.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (opts.version) {
    process.stdout.write(`${version()}\n`);
    return;
  }
  const logger = createLogger(opts.verbose >= 2 ? 'debug' : 'info');
  const pluginDir = path.resolve(opts.pluginsDirectory ?? DEFAULT_PLUGINS_DIR);
  const dumping = opts.dumpPluginInfo !== undefined || opts.dumpAllPlugins;

  if (dumping) {
    const stdoutWrite = process.stdout.write.bind(process.stdout) as (d: string | Uint8Array, cb: () => void) => boolean;
    // Whatever plugin code prints while loading goes to stderr: stdout is the dump Kong parses.
    process.stdout.write = process.stderr.write.bind(process.stderr) as typeof process.stdout.write;
    const ps = new PluginServer({ pluginDir, logger });
    if (opts.dumpPluginInfo !== undefined) {
      try {
        exitAfter(stdoutWrite, encodeJs(await ps.GetPluginInfo(opts.dumpPluginInfo)));
      } catch (e) {
        logger.error((e as Error).message);
        process.exit(1);
      }
      return;
    }
    const infos = await Promise.all([...ps.plugins.keys()].map((name) => ps.GetPluginInfo(name)));
    exitAfter(stdoutWrite, `${JSON.stringify(infos)}\n`);
    return;
  }

  const ps = new PluginServer({ pluginDir, logger, ...(opts.busyPollUs === undefined ? {} : { busyPollUs: opts.busyPollUs }) });
  if (ps.plugins.size === 0) logger.warn(`no plugins loaded from ${pluginDir}`);
  const socketPath = path.join(opts.kongPrefix, opts.sockName);
  // A PDK call a plugin fires without awaiting can reject (StepError, or a call after exit); kong-pdk's server
  // dies of the unhandled rejection, taking every in-flight request with it. Log it instead.
  process.on('unhandledRejection', (reason) => logger.warn(`unhandled promise rejection: ${String(reason)}`));
  // Signal handlers go in before listening: Kong may stop the server the moment the socket accepts.
  let listening: Listening | undefined;
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info(`${signal} received, closing ${socketPath}`);
    ps.close();
    // Drain: requests already received are answered (Kong is still proxying them) before the connections
    // close, bounded so that Kong's SIGKILL (5 s after its SIGTERM) never has to come.
    const closed = listening ? listening.close(DRAIN_MS) : Promise.resolve();
    void closed.then(() => process.exit(0));
    setTimeout(() => process.exit(0), DRAIN_MS + 1000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Before listening: Kong's first requests then find the plugin ready instead of paying its one-time work inside
  // their RPC (the local gateway waits for the socket; a cold ai-proxy-advanced config validator compile took 1.3 s
  // on a loaded machine, over the 5 s RPC deadline of the test harness at worse load).
  ps.warm();
  try {
    listening = await listen(ps, socketPath, logger);
  } catch (e) {
    logger.error(`cannot listen on ${socketPath}: ${(e as Error).message}`);
    process.exit(1);
  }
  if (stopping) await listening.close();
  else ps.startSweeper();
  try {
    const addr = metricsAddress();
    if (addr) {
      const m = await startMetricsServer(addr);
      logger.info(`metrics on http://${addr.host}:${m.port}/metrics`);
    }
  } catch (e) {
    // Metrics are not worth refusing Kong's requests for: report and go on.
    logger.error(`metrics disabled: ${(e as Error).message}`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
