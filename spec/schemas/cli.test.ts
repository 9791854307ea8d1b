/**
 * `npm run validate -- FILE`: the compiled CLI run as a child process on decK files written to a temp dir.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../helpers/schema-fixtures';

const CLI = path.join(REPO_ROOT, 'dist', 'schemas', 'cli.js');
const dir = mkdtempSync(path.join(tmpdir(), 'aipa-validate-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function run(name: string, content: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const file = path.join(dir, name);
  writeFileSync(file, content);
  const r = spawnSync(process.execPath, [CLI, file, ...args], {
    encoding: 'utf8',
    env: { ...process.env, AI_PROXY_ADVANCED_PLUGIN_NAME: '', ...env },
    timeout: 20_000,
  });
  return { file, status: r.status, out: r.stdout.trim().split('\n').filter(Boolean), err: r.stderr.trim() };
}

const DECK = `_format_version: "3.0"
plugins:
- name: rate-limiting
  config: { minute: 5 }
- name: ai-proxy-advanced
  config:
    targets:
    - route_type: llm/v1/chat
      auth:
        header_name: Authorization
        header_value: Bearer \${{ env "DECK_OPENAI_API_KEY" }}
      model:
        provider: openai
        options:
          max_tokens: \${{ env "DECK_MAX_TOKENS" }}
services:
- name: llm
  url: http://localhost:1
  plugins:
  - name: ai-proxy-advanced
    config:
      targets:
      - route_type: llm/v1/chat
        auth: { header_name: x-api-key, header_value: "{vault://env/ANTHROPIC_KEY}" }
        model: { provider: anthropic, options: { anthropic_version: "2023-06-01" } }
  routes:
  - name: chat
    paths: [/chat]
    plugins:
    - name: ai-proxy-advanced
      config:
        balancer: { algorithm: semantic }
        targets:
        - route_type: llm/v1/chat
          auth:
            header_name: x-api-key
            header_value: {vault://env/ANTHROPIC_KEY}
          model:
            provider: anthropic
routes:
- name: top
  paths: [/top]
  plugins:
  - name: ai-proxy-advanced
    config:
      targets:
      - { route_type: llm/v1/chat, model: { provider: openai }, weight: 0 }
    protocols: [http, tcp]
`;

test('prints one line per problem, naming nested plugins by their place in the file, and exits 1', () => {
  const r = run('deck.yaml', DECK);
  assert.equal(r.status, 1);
  assert.deepEqual(r.out, [
    'services[0].routes[0].plugins[0].config.targets[0].auth.header_value: expected a string (an unquoted {vault://...} reference: put it in quotes)',
    'services[0].routes[0].plugins[0].config.targets[0].description: description field is required for every target in config.targets array',
    'services[0].routes[0].plugins[0].config.targets[0].model.options.anthropic_version: must set \'model.options.anthropic_version\' for anthropic provider',
    'routes[0].plugins[0].protocols[1]: expected one of: grpc, grpcs, http, https, ws, wss',
    'routes[0].plugins[0].config.targets[0].weight: value should be between 1 and 65535',
  ]);
  assert.match(r.err, /invalid ai-proxy-advanced config; 1 field\(s\) hold decK env placeholders/);
});

test('a declarative file whose only problem is the plugin config is not called loadable by the gateway pass', () => {
  const doc = {
    _format_version: '3.0',
    services: [{ name: 's', url: 'http://127.0.0.1:9', plugins: [{ name: 'ai-proxy-advanced', config: { targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' }, weight: 0 }] } }] }],
  };
  const r = run('plugin-only.json', JSON.stringify(doc));
  assert.equal(r.status, 1);
  assert.deepEqual(r.out, ['services[0].plugins[0].config.targets[0].weight: value should be between 1 and 65535']);
  // The gateway pass leaves the plugin errors to the line above; it must not then say the file loads.
  assert.match(r.err, /the gateway would refuse this file \(the ai-proxy-advanced config errors above\)/);
});

test('a valid JSON declarative file passes with a short summary and exit 0', () => {
  const config = { targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai' } }] };
  const doc = {
    _format_version: '3.0',
    services: [{ name: 's', url: 'http://127.0.0.1:9', plugins: [{ name: 'ai-proxy-advanced', config }] }],
    plugins: [{ name: 'ai-proxy-advanced', config }],
  };
  const r = run('kong.json', JSON.stringify(doc));
  assert.equal(r.status, 0, r.out.join('\n') + r.err);
  assert.deepEqual(r.out, [`OK: 2 ai-proxy-advanced plugin(s) valid in ${r.file}`, `OK: the gateway would load ${r.file}`]);
});

test("the gateway's own checks run on a declarative file: what the gateway refuses, validate refuses (issue 14)", () => {
  // Each of these passed `npm run validate` and was then refused by the gateway at start.
  const doc = `_format_version: "3.0"
services:
- name: llm
  url: http://127.0.0.1:9
  routes:
  - name: chat
    paths: [chat]
  - name: ok
    paths: [/ok]
    plugins:
    - name: rate-limiting
      config: { minute: 5 }
    - name: ai-proxy-advanced
      config:
        targets:
        - { route_type: llm/v1/chat, model: { provider: openai, name: gpt-4o } }
- name: broken
  url: ftp://x.test
- name: nourl
  url: not a url
plugins:
- name: ai-proxy-advanced
  config: { targets: [{ route_type: llm/v1/chat, model: { provider: openai } }] }
- name: ai-proxy-advanced
  config: { targets: [{ route_type: llm/v1/chat, model: { provider: openai } }] }
`;
  const r = run('gateway.yaml', doc);
  assert.equal(r.status, 1, r.out.join('\n') + r.err);
  const lines = r.out.filter((l) => l.startsWith(r.file));
  assert.ok(lines.some((l) => l.includes('services[1].routes[1] (chat): paths.1: should start with: / (fixed path) or ~/ (regex path)')), lines.join('\n'));
  assert.ok(lines.some((l) => /services\[1\]\.routes\[2\]\.plugins\[1\] \(rate-limiting\): name: plugin 'rate-limiting' is enabled but no plugin server provides it/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /services\[2\] \(broken\): protocol: expected one of: grpc, grpcs, http, https/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /UNIQUE violation|unique/i.test(l)), 'two global ai-proxy-advanced plugins');
  assert.ok(lines.includes(`${r.file}: services[3] (nourl): url: invalid url: not a url`), lines.join('\n'));
  assert.ok(!lines.some((l) => l.includes('(nourl): host')), 'the url is the mistake, not a missing host');
  assert.match(r.err, /the gateway would refuse this file/);
  // The same file without the problems loads, and a plugin missing from `plugins` in kong.conf is refused.
  const fixed = run('fixed.yaml', '_format_version: "3.0"\nservices:\n- name: s\n  url: http://127.0.0.1:9\n  routes:\n  - { name: r, paths: [/r] }\n');
  assert.equal(fixed.status, 0, fixed.out.join('\n') + fixed.err);
  const conf = path.join(dir, 'only-bundled.conf');
  writeFileSync(conf, 'plugins = bundled\n');
  const notEnabled = run('ai.yaml', '_format_version: "3.0"\nplugins:\n- name: ai-proxy-advanced\n  config: { targets: [{ route_type: llm/v1/chat, model: { provider: openai } }] }\n', ['--conf', conf]);
  assert.equal(notEnabled.status, 1);
  assert.ok(notEnabled.out.some((l) => l.includes("plugin 'ai-proxy-advanced' not enabled; add it to the 'plugins' configuration property")), notEnabled.out.join('\n'));
});

test('decK env placeholders are left as they are and reported as unchecked, not as errors', () => {
  const r = run('placeholders.yaml', DECK.split('services:')[0] as string);
  assert.equal(r.status, 0, r.out.join('\n'));
  assert.match(r.out[0] ?? '', /^OK: 1 ai-proxy-advanced plugin\(s\) valid in .*; 1 field\(s\) hold decK env placeholders and were not type-checked$/);
});

test('placeholders with pipes in non-string fields, in block or flow style, are unchecked, as decK renders them first', () => {
  const flow = run(
    'flow.yaml',
    `_format_version: "3.0"
plugins:
- name: ai-proxy-advanced
  config:
    balancer: {retries: \${{ env "DECK_R" | toInt }}, algorithm: round-robin}
    targets:
    - {route_type: llm/v1/chat, auth: {header_name: Authorization, header_value: '\${{ env "DECK_KEY" }}'}, model: {provider: openai, name: gpt-4o}}
`,
  );
  assert.equal(flow.status, 0, flow.out.join('\n') + flow.err);
  assert.match(flow.out[0] ?? '', /^OK: 1 ai-proxy-advanced plugin\(s\) valid in .*; 1 field\(s\) hold decK env placeholders/);
  const block = run(
    'block.yaml',
    `_format_version: "3.0"
plugins:
- name: ai-proxy-advanced
  config:
    balancer:
      retries: \${{ env "DECK_RETRIES" | toInt }}
    targets:
    - route_type: llm/v1/chat
      model: {provider: anthropic, name: claude}
`,
  );
  assert.equal(block.status, 1);
  assert.deepEqual(block.out, ["plugins[0].config.targets[0].model.options.anthropic_version: must set 'model.options.anthropic_version' for anthropic provider"]);
  assert.match(block.err, /1 field\(s\) hold decK env placeholders/);
});

test('a plugin registered under another name is found with --name or AI_PROXY_ADVANCED_PLUGIN_NAME', () => {
  const yaml = 'plugins:\n- name: ai-proxy-advanced-js\n  config: { targets: [{ route_type: llm/v1/chat }] }\n';
  const byFlag = run('renamed.yaml', yaml, ['--name', 'ai-proxy-advanced-js']);
  assert.equal(byFlag.status, 1);
  assert.deepEqual(byFlag.out, ['plugins[0].config.targets[0].model: required field missing']);
  const byEnv = run('renamed.yaml', yaml, [], { AI_PROXY_ADVANCED_PLUGIN_NAME: 'AI-Proxy-Advanced-JS' });
  assert.deepEqual(byEnv.out, byFlag.out);
  const notFound = run('renamed.yaml', yaml);
  assert.equal(notFound.status, 0);
  assert.match(notFound.out[0] ?? '', /no ai-proxy-advanced plugin found/);
});

test('an unreadable file exits 2 with the parse error', () => {
  const r = run('broken.yaml', 'plugins: [\n  - name: x\n');
  assert.equal(r.status, 2);
  assert.match(r.err, /cannot read/);
});

test('a file holding one plugin entity or a bare config is validated too', () => {
  const entity = run('entity.yaml', 'name: ai-proxy-advanced\nconfig:\n  targets: [{ route_type: llm/v1/chat, model: { provider: mistral } }]\n');
  assert.equal(entity.status, 1);
  assert.deepEqual(entity.out, [
    "config.targets[0].model.options.mistral_format: must set 'model.options.mistral_format' for mistral provider",
  ]);
  const bare = run('bare.yaml', 'targets: [{ route_type: llm/v1/chat, model: { provider: openai } }]\nbalancer: { slots: 1 }\n');
  assert.equal(bare.status, 1);
  assert.deepEqual(bare.out, ['balancer.slots: value should be between 10 and 65536']);
});

test('YAML anchors and << merge keys are resolved as decK resolves them', () => {
  const yaml = `_format_version: "3.0"
x-target: &chat
  route_type: llm/v1/chat
  auth: { header_name: Authorization, header_value: Bearer k }
plugins:
- name: ai-proxy-advanced
  config:
    targets:
    - <<: *chat
      model: { provider: openai, name: gpt-4o }
    - <<: *chat
      model: { provider: openai, name: gpt-4o-mini }
      weight: 70000
`;
  const r = run('anchors.yaml', yaml);
  assert.equal(r.status, 1);
  assert.deepEqual(r.out, [
    'plugins[0].config.targets[1].weight: value should be between 1 and 65535',
    // The gateway, like Kong's declarative schema, refuses unknown top-level keys.
    `${r.file}: x-target: unknown field`,
  ]);
});
