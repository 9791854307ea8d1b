/**
 * Checks the engine needs before serving with a config, run by validateConfig (schemas/validate.ts) after the
 * schema and its entity checks, so the Admin API, `npm run validate` and the plugin refuse the same configs.
 * Provider/route-type pairs and native-format pairings are entity checks (route_type_served,
 * native_format_targets in schemas/entity-checks.ts) and are not repeated here.
 */
import type { FilledConfig } from '../../../schemas/config';
import { ConfigError } from '../errors';
import { misplacedTemplates } from './templating';
import { nativeFormat } from './llm-format';

export function checkEngineConfig(config: FilledConfig): void {
  if (!config || !Array.isArray(config.targets)) throw new ConfigError('config.targets must be an array of targets');
  const format = config.llm_format != null && config.llm_format !== 'openai' ? config.llm_format : undefined;
  if (format !== undefined) nativeFormat(format);
  config.targets.forEach((t, i) => {
    if (!t || !t.model || typeof t.model.provider !== 'string') throw new ConfigError(`config.targets[${i}].model.provider is required`);
    const misplaced = misplacedTemplates(t.model);
    if (misplaced.length > 0) throw new ConfigError(`config.targets[${i}].${misplaced.join('; ')}`);
  });
}
