/**
 * The name the plugin registers under. On Kong Enterprise and Konnect the bundled Lua `ai-proxy-advanced` wins
 * a name clash (kong/db/dao/plugins.lua load_plugin_handler tries Lua first), so it can be overridden with
 * AI_PROXY_ADVANCED_PLUGIN_NAME (for example `ai-proxy-advanced-js`). The local gateway reads the same
 * variable to know which plugin its ai-proxy-advanced validator applies to.
 */
export function pluginName(env: NodeJS.ProcessEnv = process.env): string {
  return (env.AI_PROXY_ADVANCED_PLUGIN_NAME ?? 'ai-proxy-advanced').toLowerCase();
}
