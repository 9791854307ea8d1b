/**
 * `npm run validate -- FILE [FILE...] [--name PLUGIN_NAME] [--conf KONG_CONF]`: checks decK / Kong declarative
 * files (YAML or JSON) in two passes, and exits 1 on any problem, 2 when a file (or a plugin server's query
 * command) cannot be read, 0 otherwise.
 *
 *   1. Every ai-proxy-advanced plugin config, one line per problem with its place in the file,
 *      `plugins[2].config.targets[0].model.options.anthropic_version: must set ...`; fields holding decK
 *      `${{ env "DECK_X" }}` placeholders are set aside.
 *   2. The gateway's own start-up checks (kong/gateway/declarative/check.ts, the code the gateway runs, not a
 *      copy): services, routes and every plugin against the catalog built from kong.conf (`--conf`, or
 *      KONG_CONF / KONG_* variables as the gateway reads them; defaults otherwise), plugin schemas from each
 *      plugin server's query command. `file: services[1] (llm): url: ...`. When the file holds decK
 *      placeholders whose DECK_ variables are not set, this pass is skipped with a note (set them to check).
 *
 * `--name` adds a plugin name to look for in pass 1 (for example the AI_PROXY_ADVANCED_PLUGIN_NAME the plugin
 * server runs under; that variable is honoured too).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { checkDeclarativeText, type DeclarativeProblem, queryCatalog } from '../kong/gateway/declarative/check';
import { DeckEnvError, substituteDeckEnv } from '../kong/gateway/declarative/deck-env';
import { createLogger } from '../kong/gateway/log';
import type { PluginCatalog } from '../kong/gateway/plugin-catalog';
import { loadSettings } from '../kong/gateway/settings';
import { checkDeckDocument, maskDeckPlaceholders } from './deck';

function usage(): never {
  console.error('usage: npm run validate -- FILE [FILE...] [--name PLUGIN_NAME] [--conf KONG_CONF]');
  process.exit(2);
}

function describeProblem(file: string, p: DeclarativeProblem): string {
  const entity = p.entityPath === '' ? '' : `${p.entityPath}${p.entityName ? ` (${p.entityName})` : ''}: `;
  // A top-level key of the file is its own entity path and field.
  const field = p.field !== undefined && p.field !== p.entityPath ? `${p.field}: ` : '';
  return `${file}: ${entity}${field}${p.message}`;
}

function parseFile(file: string): unknown[] {
  const text = readFileSync(file, 'utf8');
  if (/\.json$/i.test(file)) return [JSON.parse(text)];
  // decK (go-yaml) honours `<<` merge keys; so do we.
  const docs = parseAllDocuments(maskDeckPlaceholders(text), { merge: true });
  const list = Array.isArray(docs) ? docs : [docs];
  for (const d of list) {
    if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
  }
  return list.map((d) => d.toJS({ maxAliasCount: 1000 }) as unknown);
}

async function main(argv: string[]): Promise<number> {
  const files: string[] = [];
  let confPath: string | undefined;
  const names = new Set(['ai-proxy-advanced']);
  const envName = process.env.AI_PROXY_ADVANCED_PLUGIN_NAME;
  if (envName) names.add(envName.toLowerCase());
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--name') {
      const n = argv[++i];
      if (!n) usage();
      names.add(n);
    } else if (a === '--conf') {
      confPath = argv[++i];
      if (!confPath) usage();
    } else if (a === '-h' || a === '--help') usage();
    else files.push(a);
  }
  if (files.length === 0) usage();
  let catalog: PluginCatalog;
  const logger = createLogger('warn', (l) => process.stderr.write(`${l}\n`));
  try {
    catalog = await queryCatalog(loadSettings({ ...(confPath !== undefined ? { confPath } : {}) }), process.env, logger);
  } catch (err) {
    console.error(`cannot build the gateway's plugin catalog: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  let failed = false;
  for (const file of files) {
    let docs: unknown[];
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
      docs = parseFile(file);
    } catch (err) {
      console.error(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
    const before = failed;
    let plugins = 0;
    const unchecked: string[] = [];
    for (const doc of docs) {
      const r = checkDeckDocument(doc, [...names]);
      plugins += r.plugins;
      unchecked.push(...r.unchecked);
      for (const n of r.notes) console.log(`${file}: note: ${n}`);
      for (const w of r.warnings) console.error(`${file}: warning: ${w}`);
      for (const p of r.problems) console.log(p);
      if (r.problems.length > 0) failed = true;
    }
    const pluginProblems = failed && !before;
    const extra = unchecked.length > 0 ? `; ${unchecked.length} field(s) hold decK env placeholders and were not type-checked` : '';
    if (plugins === 0) console.log(`${file}: no ${[...names].join(' / ')} plugin found`);
    else if (!pluginProblems) console.log(`OK: ${plugins} ai-proxy-advanced plugin(s) valid in ${file}${extra}`);
    else console.error(`${file}: invalid ai-proxy-advanced config${extra}`);

    // Pass 2: the gateway's checks. A bare config or a single plugin entity is no declarative file.
    const isDeclarative = docs.length === 1 && typeof docs[0] === 'object' && docs[0] !== null && '_format_version' in docs[0];
    if (!isDeclarative) continue;
    try {
      substituteDeckEnv(text, process.env);
    } catch (err) {
      if (!(err instanceof DeckEnvError)) throw err;
      console.error(`${file}: note: the gateway's checks were skipped: ${err.message}`);
      continue;
    }
    let gatewayProblems = checkDeclarativeText(text, file, catalog, process.env);
    // Plugin config errors of ai-proxy-advanced are already reported above, with decK-aware paths.
    if (pluginProblems) gatewayProblems = gatewayProblems.filter((p) => !(p.entityType === 'plugin' && names.has(p.entityName ?? '') && p.field?.startsWith('config')));
    for (const p of gatewayProblems) console.log(describeProblem(file, p));
    if (gatewayProblems.length > 0) {
      failed = true;
      console.error(`${file}: the gateway would refuse this file (${gatewayProblems.length} problem(s))`);
    } else if (pluginProblems) {
      // The plugin errors above were taken out of this pass, not found fine: the gateway refuses the file for them.
      console.error(`${file}: the gateway would refuse this file (the ai-proxy-advanced config errors above)`);
    } else console.log(`OK: the gateway would load ${file}`);
  }
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exitCode = 2;
  },
);
