/**
 * Checks the engine needs before serving with a config: anything the schema accepts but this version cannot
 * do is refused by name at instance start (and answered on every request), never silently ignored.
 */
import type { FilledConfig } from '../../../schemas/config';
import { ConfigError, UnsupportedFeatureError } from '../errors';
import { getDriver } from '../providers';
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
    const driver = getDriver(t.model.provider);
    // The schema refuses other pairings, but for anthropic, which Kong's docs pair with any provider (Claude Code
    // examples) and any chat target serves by translation (llm-format.ts).
    if (format !== undefined && format !== 'anthropic' && t.model.provider !== format) {
      throw new UnsupportedFeatureError(
        `config.targets[${i}]: llm_format '${format}' with provider '${t.model.provider}' is not supported by this version of ai-proxy-advanced; only '${format}' targets serve it`,
      );
    }
    if (!driver.routeTypes.includes(t.route_type)) {
      throw new UnsupportedFeatureError(
        `config.targets[${i}]: route_type '${t.route_type}' is not supported for provider '${t.model.provider}' by this version of ai-proxy-advanced`,
      );
    }
  });
}
