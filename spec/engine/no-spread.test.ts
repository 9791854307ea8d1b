/**
 * The buffered request path builds no object literal that mixes a spread with other members: on Node 20's V8
 * such a literal leaves the fast path (~3 µs each, providers/translator-kit/assign-own.ts). One of them in the
 * attempt loop once cost 15 µs per request (a third of the engine's own CPU) and came back unnoticed after it had
 * been removed; this finds the next one at review time. Literals built once (module scope, the native-format
 * drivers made once per driver) are allowed. The stream endpoint's files are outside this check.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { REPO_ROOT } from '../helpers/pluginserver-process';

const PLUGIN = path.join(REPO_ROOT, 'plugins', 'ai-proxy-advanced');
const DIRS = ['engine', 'engine/route-types', 'providers/openai', 'providers/translator-kit'];
const FILES = ['observability/record.ts', 'providers/index.ts'];
const SKIP = new Set(['engine/stream-endpoint.ts', 'engine/stream-lease.ts']);
/** Functions that run once per driver, not per request. */
const ONCE: Record<string, readonly string[]> = {
  'engine/llm-format.ts': ['messagesDriver', 'passThroughDriver'],
  'providers/index.ts': ['withKongTranslationText'],
};

function sources(): string[] {
  const out = DIRS.flatMap((d) =>
    readdirSync(path.join(PLUGIN, d))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => `${d}/${f}`),
  );
  return [...out, ...FILES].filter((f) => !SKIP.has(f));
}

/** `file:line text` of each literal with a spread and another member, outside module scope and `once` functions. */
function mixedSpreads(file: string, text: string, once: ReadonlySet<string> = new Set(ONCE[file] ?? [])): string[] {
  const src = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node, inFunction: boolean): void => {
    if (ts.isFunctionDeclaration(node) && node.name && once.has(node.name.text)) return;
    const fn = inFunction || ts.isFunctionLike(node);
    if (fn && ts.isObjectLiteralExpression(node) && node.properties.length > 1 && node.properties.some(ts.isSpreadAssignment)) {
      const line = src.getLineAndCharacterOfPosition(node.getStart()).line + 1;
      found.push(`${file}:${line} ${node.getText().replace(/\s+/g, ' ').slice(0, 80)}`);
    }
    ts.forEachChild(node, (child) => visit(child, fn));
  };
  visit(src, false);
  return found;
}

test('the buffered request path has no object literal mixing a spread with other members', () => {
  const files = sources();
  assert.ok(files.includes('engine/attempts.ts') && files.includes('providers/openai/index.ts'), 'the request path files are found');
  assert.deepEqual(files.flatMap((f) => mixedSpreads(f, readFileSync(path.join(PLUGIN, f), 'utf8'))), []);
});

test('the check finds such a literal in a function, and not at module scope', () => {
  const probe = (code: string): number => mixedSpreads('probe.ts', code, new Set(['makeOnce'])).length;
  assert.equal(probe('function f(a: object) { return { ...a, kind: 1 }; }'), 1);
  assert.equal(probe('const g = (a: object) => ({ k: 1, ...a });'), 1);
  assert.equal(probe('const A = { x: 1 }; const B = { ...A, y: 2 };'), 0);
  assert.equal(probe('function f(a: object) { return { ...a }; }'), 0);
  assert.equal(probe('function makeOnce(a: object) { return { ...a, kind: 1 }; }'), 0);
});
