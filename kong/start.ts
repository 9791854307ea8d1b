/**
 * `npm start` (after the build): runs the local Kong-compatible gateway the way `kong start` runs Kong:
 * settings from KONG_* environment variables and an optional kong.conf given with `-c <file>`, the
 * declarative config from KONG_DECLARATIVE_CONFIG (default kong/kong.yml). Prints where it listens.
 *
 *   npm start                         # proxy 0.0.0.0:8000, admin 127.0.0.1:8001, kong/kong.yml
 *   npm start -- -c my-kong.conf      # settings from a kong.conf file
 */
import { Gateway } from './gateway/gateway';
import { loadSettings } from './gateway/settings';

const USAGE = `Usage: node dist/kong/start.js [start] [-c <kong.conf>]

Settings come from KONG_* environment variables (KONG_PROXY_LISTEN, KONG_ADMIN_LISTEN,
KONG_DECLARATIVE_CONFIG, KONG_PREFIX, KONG_PLUGINS, KONG_PLUGINSERVER_NAMES,
KONG_PLUGINSERVER_<NAME>_START_CMD/_QUERY_CMD/_SOCKET, KONG_NGINX_WORKER_PROCESSES, KONG_LOG_LEVEL),
overriding the kong.conf given with -c.
`;

function parseArgs(argv: string[]): { conf: string | undefined } {
  let conf: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === 'start') continue;
    if (a === '-c' || a === '--conf') {
      conf = argv[++i];
      if (conf === undefined) throw new Error(`${a} needs a file name`);
    } else if (a === '-h' || a === '--help') {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument '${a}'\n${USAGE}`);
  }
  return { conf };
}

async function main(): Promise<void> {
  const { conf } = parseArgs(process.argv.slice(2));
  const settings = loadSettings(conf === undefined ? {} : { confPath: conf });
  const gw = await Gateway.start({ settings });
  const show = (a: { address: string; port: number }): string => `http://${a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`;
  const lines: string[] = [];
  for (const a of gw.proxyAddresses) lines.push(`Kong-compatible gateway: proxy listening on ${show(a)}`);
  for (const a of gw.adminAddresses) lines.push(`Kong-compatible gateway: Admin API listening on ${show(a)}`);
  const plugins = gw.catalog.availableNames();
  lines.push(
    `declarative config: ${settings.declarativeConfig ?? '(none)'}; plugins: ${plugins.join(', ') || '(none)'}; ` +
      `${gw.store.list('services').length} services, ${gw.store.list('routes').length} routes, ${gw.store.list('plugins').length} plugins`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`${signal}: stopping\n`);
    gw.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: Error) => {
  process.stderr.write(`Error: ${err.message}\n`);
  process.exit(1);
});
