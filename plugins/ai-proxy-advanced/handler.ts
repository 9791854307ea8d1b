/**
 * The plugin's phase handlers. Provisional: the engine work (#5) builds the request path here. Until then the
 * plugin answers every request with an explicit 501 naming what is missing — it never pretends to proxy.
 */
import type { PluginConfig } from '../../schemas/config';

export interface KongPdk {
  response: { exit(status: number, body?: unknown, headers?: Record<string, string | string[]>): Promise<void> };
}

export class AiProxyAdvanced {
  readonly config: PluginConfig;

  constructor(config: PluginConfig) {
    this.config = config;
  }

  async access(kong: KongPdk): Promise<void> {
    await kong.response.exit(
      501,
      { error: { message: 'ai-proxy-advanced: the proxy engine is not built yet', type: 'not_implemented' } },
      {},
    );
  }
}
