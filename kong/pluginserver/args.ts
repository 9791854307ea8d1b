/**
 * kong-js-pluginserver's command line (kong-pdk 0.6.0 cli.js, parsed by commander 10), hand-parsed because
 * the same spellings must work: `-p`/`--kong-prefix`, `--sock-name`, `-d`/`--plugins-directory`,
 * `--dump-plugin-info`/`-dump-plugin-info NAME`, `--dump-all-plugins`/`-dump-all-plugins`, repeatable `-v`
 * (`-vv`), `--version`, and `--opt=value` / `-pVALUE` forms. Unlike kong-pdk, `-d` is optional: without it the
 * server serves the project's own built plugins.
 */
export interface CliOptions {
  kongPrefix: string;
  sockName: string;
  pluginsDirectory: string | undefined;
  dumpPluginInfo: string | undefined;
  dumpAllPlugins: boolean;
  verbose: number;
  /** Ours only: the busy-poll window in µs (kong/rpc/busy-poll.ts); undefined = the server's default. */
  busyPollUs: number | undefined;
  version: boolean;
  help: boolean;
}

export class CliError extends Error {}

type ValueKey = 'kongPrefix' | 'sockName' | 'pluginsDirectory' | 'dumpPluginInfo' | 'busyPollUs';

const VALUE_FLAGS: Record<string, { key: ValueKey; label: string }> = {
  '-p': { key: 'kongPrefix', label: '-p, --kong-prefix <prefix>' },
  '--kong-prefix': { key: 'kongPrefix', label: '-p, --kong-prefix <prefix>' },
  '--sock-name': { key: 'sockName', label: '--sock-name <sock_name>' },
  '-d': { key: 'pluginsDirectory', label: '-d, --plugins-directory <dir>' },
  '--plugins-directory': { key: 'pluginsDirectory', label: '-d, --plugins-directory <dir>' },
  '--dump-plugin-info': { key: 'dumpPluginInfo', label: '--dump-plugin-info <name>' },
  '-dump-plugin-info': { key: 'dumpPluginInfo', label: '--dump-plugin-info <name>' },
  '--busy-poll-us': { key: 'busyPollUs', label: '--busy-poll-us <us>' },
};

export const USAGE = `Usage: ai-proxy-advanced-pluginserver [options]

Kong plugin server for JavaScript plugins (drop-in for kong-js-pluginserver)

Options:
  -p, --kong-prefix <prefix>      unix domain socket path to listen (default: "/usr/local/kong")
  --sock-name <sock_name>         socket name to listen on (default: "js_pluginserver.sock")
  -d, --plugins-directory <dir>   plugins directory for .js files (default: this project's built plugins)
  --dump-plugin-info <name>       dump specific plugin info into stdout (msgpack)
  --dump-all-plugins              dump all plugins info into stdout (JSON)
  -v, --verbose                   verbose logging (-v info, -vv debug)
  --busy-poll-us <us>             after sending Kong a PDK call, poll up to <us> microseconds for its
                                  Step before sleeping (default: 0, off; 100 saves ~0.1 ms per request
                                  on VMs at the cost of a busy core under load; not in kong-js-pluginserver)
  --version                       output the version number
  -h, --help                      display help for command
`;

export function parseArgs(argv: readonly string[]): CliOptions {
  const o: CliOptions = {
    kongPrefix: '/usr/local/kong',
    sockName: 'js_pluginserver.sock',
    pluginsDirectory: undefined,
    dumpPluginInfo: undefined,
    dumpAllPlugins: false,
    verbose: 0,
    busyPollUs: undefined,
    version: false,
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    const eq = arg.startsWith('-') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = VALUE_FLAGS[flag];
    if (spec) {
      let value: string | undefined;
      if (eq > 0) value = arg.slice(eq + 1);
      // Like commander, a required option-argument is the next word whatever it looks like.
      else if (i + 1 < argv.length) value = argv[++i];
      if (value === undefined) throw new CliError(`error: option '${spec.label}' argument missing`);
      if (spec.key === 'busyPollUs') {
        if (!/^\d+$/.test(value) || Number(value) > 1_000_000) {
          throw new CliError(`error: option '${spec.label}' argument '${value}' is invalid: microseconds from 0 to 1000000 expected`);
        }
        o.busyPollUs = Number(value);
      } else o[spec.key] = value;
      continue;
    }
    switch (flag) {
      case '--dump-all-plugins':
      case '-dump-all-plugins':
        o.dumpAllPlugins = true;
        continue;
      case '--verbose':
        o.verbose++;
        continue;
      case '--version':
        o.version = true;
        continue;
      case '-h':
      case '--help':
        o.help = true;
        continue;
    }
    // Clustered short flags: -vv, -pVALUE, -dDIR.
    if (/^-[a-z]/i.test(arg) && !arg.startsWith('--')) {
      const letters = arg.slice(1);
      let ok = true;
      for (let j = 0; j < letters.length; j++) {
        const c = letters[j]!;
        if (c === 'v') {
          o.verbose++;
        } else if (c === 'h') {
          o.help = true;
        } else if ((c === 'p' || c === 'd') && j === 0 && letters.length > 1) {
          o[c === 'p' ? 'kongPrefix' : 'pluginsDirectory'] = letters.slice(1);
          break;
        } else {
          ok = false;
          break;
        }
      }
      if (ok) continue;
    }
    if (arg.startsWith('-')) throw new CliError(`error: unknown option '${flag}'`);
    // commander 10 ignores excess positional arguments; so do we.
  }
  return o;
}
