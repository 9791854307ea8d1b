/**
 * What `bundled` in the `plugins` setting stands for: the Lua plugins Kong OSS ships (kong/constants.lua
 * BUNDLED_PLUGINS, 3.9). The local gateway cannot run Lua, but knowing the names lets it say so, instead of
 * claiming a bundled plugin is "not enabled" when the user's `plugins = bundled,...` did enable it.
 */
export const KONG_BUNDLED_PLUGINS: ReadonlySet<string> = new Set([
  'jwt', 'acl', 'correlation-id', 'cors', 'oauth2', 'tcp-log', 'udp-log', 'file-log', 'http-log', 'key-auth',
  'hmac-auth', 'basic-auth', 'ip-restriction', 'request-transformer', 'response-transformer',
  'request-size-limiting', 'rate-limiting', 'response-ratelimiting', 'syslog', 'loggly', 'datadog', 'ldap-auth',
  'statsd', 'bot-detection', 'aws-lambda', 'request-termination', 'prometheus', 'proxy-cache', 'session', 'acme',
  'grpc-gateway', 'grpc-web', 'pre-function', 'post-function', 'azure-functions', 'zipkin', 'opentelemetry',
  'ai-proxy', 'ai-prompt-decorator', 'ai-prompt-template', 'ai-prompt-guard', 'ai-request-transformer',
  'ai-response-transformer', 'standard-webhooks', 'redirect',
]);
