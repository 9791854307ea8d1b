/** Public API of schemas/: the validator, the derived schemas and the config types. */
export { validateConfig, configValidator, formatPath, CONFIG_JSON_SCHEMA } from './validate';
export type { ConfigError, ValidationResult } from './validate';
export { KONG_SCHEMA_FIELDS } from './kong-schema';
export { PLUGIN_CONFIG } from './definition';
export * from './config';
export { VAULT_REFERENCE } from './json-schema';
export { checkDeckDocument } from './deck';
