/**
 * Checks the engine needs before serving with a config, run by validateConfig (schemas/validate.ts) after the
 * schema and its entity checks, so the Admin API, `npm run validate` and the plugin refuse the same configs.
 * Provider/route-type pairs and native-format pairings are entity checks (route_type_served,
 * native_format_targets in schemas/entity-checks.ts) and are not repeated here.
 *
 * Problems are returned as data (the field's path and the text), never as a message to parse back: a field path
 * rebuilt from text breaks on the first key or message that does not fit the pattern.
 */
import type { FilledConfig } from '../../../schemas/config';
import { misplacedTemplates } from './templating';
import { nativeFormat } from './llm-format';

export interface EngineConfigProblem {
  /** Path from the config's root: `['targets', 0, 'model', 'options', 'upstream_url']`. */
  readonly field: ReadonlyArray<string | number>;
  readonly message: string;
}

/** Every problem found (an empty array: the engine can serve the config). */
export function checkEngineConfig(config: FilledConfig): EngineConfigProblem[] {
  const out: EngineConfigProblem[] = [];
  if (!config || !Array.isArray(config.targets)) return [{ field: ['targets'], message: 'expected an array of targets' }];
  const format = config.llm_format != null && config.llm_format !== 'openai' ? config.llm_format : undefined;
  if (format !== undefined) {
    try {
      nativeFormat(format);
    } catch (err) {
      out.push({ field: ['llm_format'], message: err instanceof Error ? err.message : String(err) });
    }
  }
  config.targets.forEach((t, i) => {
    if (!t || !t.model || typeof t.model.provider !== 'string') {
      out.push({ field: ['targets', i, 'model', 'provider'], message: 'required field missing' });
      return;
    }
    for (const p of misplacedTemplates(t.model)) out.push({ field: ['targets', i, ...p.field], message: p.message });
  });
  return out;
}
