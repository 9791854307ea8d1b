/**
 * Provider registry: the only place that knows which driver serves which `model.provider`.
 * The engine looks drivers up here and never branches on a provider name.
 *
 * Two halves, each owned by one part of the code base so they can grow independently:
 *  - openai-compatible.ts: OpenAI and the providers that speak its wire format (URL/auth differ only);
 *  - translated.ts: providers with their own formats (Anthropic, Gemini, Bedrock, Cohere, ...).
 */
import type { ProviderName } from '../../../schemas/config';
import { UnsupportedFeatureError } from '../errors';
import { OPENAI_COMPATIBLE_DRIVERS } from './openai-compatible';
import type { ProviderDriver } from './provider';
import { TRANSLATED_DRIVERS } from './translated';

const DRIVERS: Readonly<Partial<Record<ProviderName, ProviderDriver>>> = Object.freeze({
  ...OPENAI_COMPATIBLE_DRIVERS,
  ...TRANSLATED_DRIVERS,
});

export function getDriver(provider: ProviderName): ProviderDriver {
  const driver = DRIVERS[provider];
  if (!driver) throw new UnsupportedFeatureError(`provider '${provider}' is not supported by this version of ai-proxy-advanced`);
  return driver;
}

export function hasDriver(provider: ProviderName): boolean {
  return DRIVERS[provider] !== undefined;
}
