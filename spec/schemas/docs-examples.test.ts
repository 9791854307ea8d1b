/**
 * Every official ai-proxy-advanced example config (Kong docs, spec/fixtures/schemas/docs-examples) must be
 * accepted, placeholders replaced by plausible values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configValidator, validateConfig } from '../../schemas';
import { loadDocsExamples } from '../helpers/schema-fixtures';
import { REALTIME_REFUSAL } from '../../schemas/definition/route-support';

/**
 * Four of Kong's example configs do not match Kong's own schema export for any version 3.8-3.14 (the JSON
 * generated from the Lua schema), so Kong refuses them too; they must be refused here, naming the field:
 * - sdk-multiple-azure-deployments #0: `zure_instance` is a typo for `azure_instance`;
 * - sdk-two-routes: the second target is indented into the first (`targets[0].targets`);
 * - video-generation-openai: `model.options.seconds` / `size` exist in no schema version (they are request
 *   parameters of OpenAI's video API);
 * - xai-image-generation: `genai_category` is a plugin-level field, written inside the target.
 */
const KNOWN_DOCS_DEFECTS: Record<string, Array<{ path: string; message: string }>> = {
  'sdk-multiple-azure-deployments.yaml#0': [
    { path: 'targets[0].model.options.zure_instance', message: 'unknown field' },
    {
      path: 'targets[0].model.options.azure_instance',
      message: "must set 'model.options.azure_instance' for azure provider",
    },
  ],
  'sdk-two-routes.yaml': [{ path: 'targets[0].targets', message: 'unknown field' }],
  'video-generation-openai.yaml': [
    { path: 'targets[0].model.options.seconds', message: 'unknown field' },
    { path: 'targets[0].model.options.size', message: 'unknown field' },
  ],
  'xai-image-generation.yaml': [{ path: 'targets[0].genai_category', message: 'unknown field' }],
};

/**
 * Examples Kong accepts that this plugin refuses on purpose, naming the field (schemas/definition/route-support.ts):
 * realtime is a WebSocket upgrade, which Kong never hands to an external plugin server.
 */
const REFUSED_BY_DESIGN: Record<string, Array<{ path: string; message: string }>> = {
  'realtime-route-openai.yaml': [{ path: 'targets[0].route_type', message: REALTIME_REFUSAL }],
};

const examples = loadDocsExamples();

test('the fixture set holds all 59 official example files', () => {
  assert.equal(new Set(examples.map((e) => e.file)).size, 59);
});

for (const ex of examples) {
  const id = ex.index === undefined ? ex.file : `${ex.file}#${ex.index}`;
  const refused = REFUSED_BY_DESIGN[id];
  if (refused) {
    test(`docs example ${id} is refused: this plugin cannot serve it`, () => {
      const r = validateConfig(ex.config);
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual(r.errors, refused);
    });
    continue;
  }
  const defect = KNOWN_DOCS_DEFECTS[id];
  if (defect) {
    test(`docs example ${id} is refused for the defect Kong also refuses`, () => {
      const r = validateConfig(ex.config);
      assert.equal(r.ok, false);
      if (!r.ok) assert.deepEqual(r.errors, defect);
    });
    continue;
  }
  test(`docs example ${id} validates`, () => {
    const r = validateConfig(ex.config);
    assert.deepEqual(r.ok ? [] : r.errors, []);
  });
}

test('the exported JSON Schema accepts the valid examples as written, before defaults are filled', () => {
  const validate = configValidator();
  for (const ex of examples) {
    const id = ex.index === undefined ? ex.file : `${ex.file}#${ex.index}`;
    if (KNOWN_DOCS_DEFECTS[id]) continue;
    assert.equal(validate(ex.config), true, `${id}: ${JSON.stringify(validate.errors)}`);
  }
});
