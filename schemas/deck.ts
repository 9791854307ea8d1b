/**
 * Finds ai-proxy-advanced plugins in a decK / Kong declarative file and validates their config. Plugins can
 * sit at the top level or nested under services, routes (also services[].routes[]), consumers and
 * consumer_groups; each is named by its path in the file, e.g. `services[0].routes[1].plugins[0]`. A file
 * that is a single plugin entity (an Admin API body) or a bare config object (with `targets`) works too.
 *
 * decK renders `${{ env "DECK_X" }}` placeholders only when it syncs, so a field holding one cannot be checked
 * here: problems reported at such a field are set aside and counted instead.
 */
import { isPlainObject } from './defaults';
import { formatPath, validateDetailed, valueAt } from './validate';

export interface FoundPlugin {
  /** Where the plugin sits, e.g. `services[0].plugins[1]`; '' for a file that is one plugin or a bare config. */
  path: string;
  plugin: Record<string, unknown>;
  /** The file is a bare `config` object (has `targets`), not a plugin entity. */
  bare?: boolean;
}

export interface DeckReport {
  plugins: number;
  problems: string[];
  /** Fields whose value holds a decK env placeholder and was not checked. */
  unchecked: string[];
  notes: string[];
}

/**
 * A decK env placeholder, pipes included (`${{ env "DECK_R" | toInt }}`), or the token `maskDeckPlaceholders`
 * put in its place before YAML parsing.
 */
export const DECK_PLACEHOLDER = /\$\{\{\s*env\s+"[^"]*"[^}]*\}\}|__DECK_ENV_\d+__/;

/**
 * decK renders placeholders before it parses the file, so a placeholder may stand where YAML syntax would
 * break on it (flow style: `{retries: ${{ env "DECK_R" | toInt }}}`). Replace each with a plain-scalar token
 * that parses anywhere and is recognised by DECK_PLACEHOLDER afterwards.
 */
export function maskDeckPlaceholders(text: string): string {
  let n = 0;
  return text.replace(/\$\{\{[^}]*\}\}/g, () => `__DECK_ENV_${n++}__`);
}

/** Plugin-level `protocols` Kong accepts for ai-proxy-advanced (3.11+ export; ws/wss added in 3.11). */
export const PLUGIN_PROTOCOLS = ['grpc', 'grpcs', 'http', 'https', 'ws', 'wss'] as const;

const NESTED_COLLECTIONS = ['services', 'routes', 'consumers', 'consumer_groups'] as const;

export function findPlugins(doc: unknown, names: readonly string[]): FoundPlugin[] {
  const found: FoundPlugin[] = [];
  const visit = (entity: Record<string, unknown>, prefix: string) => {
    const plugins = entity.plugins;
    if (Array.isArray(plugins)) {
      plugins.forEach((p, i) => {
        if (isPlainObject(p) && typeof p.name === 'string' && names.includes(p.name)) {
          found.push({ path: `${prefix}plugins[${i}]`, plugin: p });
        }
      });
    }
    for (const key of NESTED_COLLECTIONS) {
      const items = entity[key];
      if (!Array.isArray(items)) continue;
      items.forEach((item, i) => isPlainObject(item) && visit(item, `${prefix}${key}[${i}].`));
    }
  };
  if (!isPlainObject(doc)) return found;
  // A single plugin entity (Admin API body) or a bare config object (docs examples' `config:` block).
  const namedHere = typeof doc.name === 'string' ? names.includes(doc.name) : isPlainObject(doc.config);
  if (namedHere && !Array.isArray(doc.plugins)) {
    return [{ path: '', plugin: doc }];
  }
  if ('targets' in doc && !('plugins' in doc)) return [{ path: '', plugin: { config: doc }, bare: true }];
  visit(doc, '');
  return found;
}

/** YAML reads an unquoted `{vault://env/X}` as a map `{ "vault://env/X": null }`. */
function isUnquotedVaultReference(v: unknown): boolean {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] ?? '').startsWith('vault://') && v[keys[0] as string] === null;
}

export function checkDeckDocument(doc: unknown, names: readonly string[] = ['ai-proxy-advanced']): DeckReport {
  const report: DeckReport = { plugins: 0, problems: [], unchecked: [], notes: [] };
  for (const { path, plugin, bare } of findPlugins(doc, names)) {
    report.plugins++;
    const config = plugin.config === undefined || plugin.config === null ? {} : plugin.config;
    const hasPartials = Array.isArray(plugin.partials) && plugin.partials.length > 0;
    if (hasPartials) {
      report.notes.push(`${path || 'plugin'}: uses partials; fields they supply are not resolved here, missing fields not reported`);
    }
    if (Array.isArray(plugin.protocols)) {
      plugin.protocols.forEach((p, i) => {
        if (!(PLUGIN_PROTOCOLS as readonly unknown[]).includes(p) && !(typeof p === 'string' && DECK_PLACEHOLDER.test(p))) {
          report.problems.push(`${path ? path + '.' : ''}protocols[${i}]: expected one of: ${PLUGIN_PROTOCOLS.join(', ')}`);
        }
      });
    }
    const result = validateDetailed(config);
    if (result.ok) continue;
    for (const e of result.errors) {
      const prefix = bare ? '' : path === '' ? 'config' : `${path}.config`;
      const field = formatPath(e.segments);
      const where = prefix === '' ? field || '(config)' : field === '' ? prefix : `${prefix}${field.startsWith('[') ? '' : '.'}${field}`;
      const raw = valueAt(config, e.segments);
      if (typeof raw === 'string' && DECK_PLACEHOLDER.test(raw)) {
        report.unchecked.push(where);
        continue;
      }
      if (hasPartials && e.message === 'required field missing') continue;
      const hint = isUnquotedVaultReference(raw) ? ' (an unquoted {vault://...} reference: put it in quotes)' : '';
      report.problems.push(`${where}: ${e.message}${hint}`);
    }
  }
  return report;
}
