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
  /** Not errors (the exit code stays 0): e.g. a service that would forward requests to a provider. */
  warnings: string[];
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
  const report: DeckReport = { plugins: 0, problems: [], unchecked: [], notes: [], warnings: providerServiceWarnings(doc, names) };
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

/**
 * Provider API hosts: a service pointing at one of them forwards the client's own request, key and body to the
 * provider whenever Kong proxies instead of the plugin answering (its plugin server down, the plugin removed).
 */
const PROVIDER_HOSTS: readonly RegExp[] = [
  /^api\.openai\.com$/,
  /^api\.anthropic\.com$/,
  /^generativelanguage\.googleapis\.com$/,
  /(^|\.)aiplatform\.googleapis\.com$/,
  /\.openai\.azure\.com$/,
  /\.services\.ai\.azure\.com$/,
  /^bedrock(-runtime)?(-fips)?\.[a-z0-9-]+\.amazonaws\.com$/,
  /^api\.mistral\.ai$/,
  /^api\.cohere\.(com|ai)$/,
  /^api\.groq\.com$/,
  /^api\.deepseek\.com$/,
  /^api\.x\.ai$/,
  /^api\.together\.(xyz|ai)$/,
  /^api\.fireworks\.ai$/,
  /^api\.perplexity\.ai$/,
  /^openrouter\.ai$/,
  /^api\.cerebras\.ai$/,
  /^dashscope(-intl)?\.aliyuncs\.com$/,
  /^(api-inference|router)\.huggingface\.co$/,
];

export function isProviderHost(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return PROVIDER_HOSTS.some((re) => re.test(h));
}

function serviceHost(svc: Record<string, unknown>): string | undefined {
  if (typeof svc.url === 'string' && !DECK_PLACEHOLDER.test(svc.url)) {
    try {
      return new URL(svc.url).hostname;
    } catch {
      return undefined;
    }
  }
  return typeof svc.host === 'string' ? svc.host : undefined;
}

const hasPlugin = (entity: Record<string, unknown>, names: readonly string[]): boolean =>
  Array.isArray(entity.plugins) && entity.plugins.some((p) => isPlainObject(p) && typeof p.name === 'string' && names.includes(p.name));

/** Services that a route carrying ai-proxy-advanced (or the service itself) sends to a provider host. */
export function providerServiceWarnings(doc: unknown, names: readonly string[]): string[] {
  if (!isPlainObject(doc) || !Array.isArray(doc.services)) return [];
  const services = doc.services.filter(isPlainObject);
  const refOf = (v: unknown): string | undefined => (typeof v === 'string' ? v : isPlainObject(v) ? ((v.name ?? v.id) as string | undefined) : undefined);
  const topRoutes = Array.isArray(doc.routes) ? doc.routes.filter(isPlainObject) : [];
  const topPlugins = Array.isArray(doc.plugins) ? doc.plugins.filter(isPlainObject) : [];
  const routeByRef = new Map<string, Record<string, unknown>>();
  for (const r of topRoutes) for (const k of [r.name, r.id]) if (typeof k === 'string') routeByRef.set(k, r);
  const warnings: string[] = [];
  services.forEach((svc, i) => {
    const host = serviceHost(svc);
    if (host === undefined || !isProviderHost(host)) return;
    const ids = [svc.name, svc.id].filter((x): x is string => typeof x === 'string');
    const nestedRoutes = Array.isArray(svc.routes) ? svc.routes.filter(isPlainObject) : [];
    const ownRoutes = [...nestedRoutes, ...topRoutes.filter((r) => ids.includes(refOf(r.service) ?? ''))];
    const routeIds = new Set(ownRoutes.flatMap((r) => [r.name, r.id]).filter((x): x is string => typeof x === 'string'));
    const used =
      hasPlugin(svc, names) ||
      ownRoutes.some((r) => hasPlugin(r, names)) ||
      topPlugins.some((p) => typeof p.name === 'string' && names.includes(p.name) && (ids.includes(refOf(p.service) ?? '') || routeIds.has(refOf(p.route) ?? '') || routeByRef.has(refOf(p.route) ?? '') && ids.includes(refOf(routeByRef.get(refOf(p.route) ?? '')?.service) ?? '')));
    if (!used) return;
    warnings.push(
      `services[${i}]${typeof svc.name === 'string' ? ` (${svc.name})` : ''}: url points at the provider host ${host}; when the plugin server is down Kong proxies the client's request, with its own credentials, there. Use a URL where nothing listens, e.g. http://127.0.0.1:9 (see kong/kong.yml)`,
    );
  });
  return warnings;
}
