/** Locations and loaders for the schema tests' fixtures (spec/fixtures/schemas, see its README). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + __dirname);
    dir = up;
  }
  return dir;
}

export const REPO_ROOT = repoRoot();
export const SCHEMA_FIXTURES = path.join(REPO_ROOT, 'spec', 'fixtures', 'schemas');
export const KONG_VERSIONS = ['3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14'] as const;

export function loadKongJsonSchema(version: string): Record<string, unknown> {
  const file = path.join(SCHEMA_FIXTURES, 'kong-json', `AiProxyAdvanced-${version}.json`);
  return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
}

/** Plausible stand-ins for the docs examples' `${name}` placeholders, chosen by what the name is for. */
export function plausibleValue(name: string): string {
  if (name === 'upstream_url') return 'http://llm.example.test:8080/v1/chat/completions';
  if (/endpoint/.test(name)) return 'us-central1-aiplatform.googleapis.com';
  if (/service_account_json/.test(name)) return '{"type":"service_account","project_id":"demo"}';
  if (/region/.test(name)) return 'us-east-1';
  if (/project_id/.test(name)) return 'demo-project';
  if (/location_id/.test(name)) return 'us-central1';
  return `test-${name.replace(/_/g, '-')}`;
}

function substitute(v: unknown): unknown {
  if (typeof v === 'string') return v.replace(/\$\{([A-Za-z0-9_]+)\}/g, (_, n: string) => plausibleValue(n));
  if (Array.isArray(v)) return v.map(substitute);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x)]));
  }
  return v;
}

export interface DocsExample {
  file: string;
  /** Index when the example's `config:` is a list of configs, else undefined. */
  index: number | undefined;
  config: unknown;
}

/** Every `config` of every official example, placeholders substituted. */
export function loadDocsExamples(): DocsExample[] {
  const dir = path.join(SCHEMA_FIXTURES, 'docs-examples');
  const out: DocsExample[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.ya?ml$/.test(file)) continue;
    const doc = parse(readFileSync(path.join(dir, file), 'utf8')) as { config?: unknown };
    const config = substitute(doc.config);
    if (Array.isArray(config)) config.forEach((c, i) => out.push({ file, index: i, config: c }));
    else out.push({ file, index: undefined, config });
  }
  return out;
}
