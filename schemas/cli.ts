/**
 * `npm run validate -- FILE [FILE...] [--name PLUGIN_NAME]`: validates every ai-proxy-advanced plugin in decK /
 * Kong declarative files (YAML or JSON). Prints one line per problem,
 * `plugins[2].config.targets[0].model.options.anthropic_version: must set ...`, and exits 1 on any problem,
 * 2 when a file cannot be read or parsed, 0 otherwise. `--name` adds a plugin name to look for (for example
 * the AI_PROXY_ADVANCED_PLUGIN_NAME the plugin server runs under; that variable is honoured too).
 */
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { checkDeckDocument, maskDeckPlaceholders } from './deck';

function usage(): never {
  console.error('usage: npm run validate -- FILE [FILE...] [--name PLUGIN_NAME]');
  process.exit(2);
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

function main(argv: string[]): number {
  const files: string[] = [];
  const names = new Set(['ai-proxy-advanced']);
  const envName = process.env.AI_PROXY_ADVANCED_PLUGIN_NAME;
  if (envName) names.add(envName.toLowerCase());
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--name') {
      const n = argv[++i];
      if (!n) usage();
      names.add(n);
    } else if (a === '-h' || a === '--help') usage();
    else files.push(a);
  }
  if (files.length === 0) usage();
  let failed = false;
  for (const file of files) {
    let docs: unknown[];
    try {
      docs = parseFile(file);
    } catch (err) {
      console.error(`${file}: cannot read: ${err instanceof Error ? err.message : String(err)}`);
      return 2;
    }
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
    const extra = unchecked.length > 0 ? `; ${unchecked.length} field(s) hold decK env placeholders and were not type-checked` : '';
    if (plugins === 0) console.log(`${file}: no ${[...names].join(' / ')} plugin found`);
    else if (!failed) console.log(`OK: ${plugins} ai-proxy-advanced plugin(s) valid in ${file}${extra}`);
    else console.error(`${file}: invalid ai-proxy-advanced config${extra}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
