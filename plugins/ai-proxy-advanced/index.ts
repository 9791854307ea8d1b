/**
 * Plugin module entry, in kong-pdk's module contract (kong-js-pdk lib/mod.js): Plugin, Schema, Version,
 * Priority, Name, plus the project plugin server's optional Warm. Nothing else lives here.
 */
import { configValidator } from '../../schemas';
import { KONG_SCHEMA_FIELDS } from '../../schemas/kong-schema';
import { AiProxyAdvanced } from './handler';
import { pluginName } from './name';
import { LOG_PHASE_DECLARED } from './observability/log-phase';

export const Plugin = AiProxyAdvanced;
/** `ai-proxy-advanced`, or AI_PROXY_ADVANCED_PLUGIN_NAME where Kong Enterprise's bundled plugin would clash. */
export const Name = pluginName();
export const Schema = KONG_SCHEMA_FIELDS;
/** Kong rejects a VERSION that is not exactly x.y.z (kong/db/dao/plugins.lua valid_version). */
export const Version = '0.1.0';
/** Same as Kong's ai-proxy / ai-proxy-advanced handlers. */
export const Priority = 770;
/**
 * Called by the project's plugin server once before it serves (kong/pluginserver/loader.ts): compiles the config
 * validator (about 0.3 s, over a second on a loaded machine) so the first plugin instance Kong starts does not.
 */
export const Warm = (): void => {
  configValidator();
};
/**
 * The phases Kong sends events for (kong/pluginserver/loader.ts): `log` unless AI_PROXY_ADVANCED_LOG_PHASE=off
 * (observability/log-phase.ts), which saves a round trip per request where streamed analytics are not wanted.
 */
export const Phases = LOG_PHASE_DECLARED ? ['access', 'log'] : ['access'];
