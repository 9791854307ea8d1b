/**
 * Plugin module entry, in kong-pdk's module contract (kong-js-pdk lib/mod.js): Plugin, Schema, Version,
 * Priority, Name. Nothing else lives here.
 *
 * Name: on Kong Enterprise and Konnect the bundled Lua `ai-proxy-advanced` wins a name clash
 * (kong/db/dao/plugins.lua load_plugin_handler tries Lua first), so the name can be overridden with
 * AI_PROXY_ADVANCED_PLUGIN_NAME (for example `ai-proxy-advanced-js`).
 */
import { KONG_SCHEMA_FIELDS } from '../../schemas/kong-schema';
import { AiProxyAdvanced } from './handler';

export const Plugin = AiProxyAdvanced;
export const Name = (process.env.AI_PROXY_ADVANCED_PLUGIN_NAME ?? 'ai-proxy-advanced').toLowerCase();
export const Schema = KONG_SCHEMA_FIELDS;
/** Kong rejects a VERSION that is not exactly x.y.z (kong/db/dao/plugins.lua valid_version). */
export const Version = '0.1.0';
/** Same as Kong's ai-proxy / ai-proxy-advanced handlers. */
export const Priority = 770;
