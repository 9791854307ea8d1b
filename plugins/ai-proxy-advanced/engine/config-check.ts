/**
 * Checks the engine needs before serving with a config: anything the schema accepts but this version cannot
 * do is refused by name at instance start (and answered on every request), never silently ignored.
 */
import type { FilledConfig } from '../../../schemas/config';
import { ConfigError, UnsupportedFeatureError } from '../errors';
import { getDriver } from '../providers';
import { misplacedTemplates } from './templating';

export function checkEngineConfig(config: FilledConfig): void {
  if (!config || !Array.isArray(config.targets)) throw new ConfigError('config.targets must be an array of targets');
  if (config.llm_format != null && config.llm_format !== 'openai') {
    throw new UnsupportedFeatureError(`llm_format '${config.llm_format}' is not supported by this version of ai-proxy-advanced`);
  }
  config.targets.forEach((t, i) => {
    if (!t || !t.model || typeof t.model.provider !== 'string') throw new ConfigError(`config.targets[${i}].model.provider is required`);
    const misplaced = misplacedTemplates(t.model);
    if (misplaced.length > 0) throw new ConfigError(`config.targets[${i}].${misplaced.join('; ')}`);
    const driver = getDriver(t.model.provider);
    if (!driver.routeTypes.includes(t.route_type)) {
      throw new UnsupportedFeatureError(
        `config.targets[${i}]: route_type '${t.route_type}' is not supported for provider '${t.model.provider}' by this version of ai-proxy-advanced`,
      );
    }
  });
}
