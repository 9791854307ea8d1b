/**
 * Provider registry: the only place that knows which driver serves which `model.provider`.
 * The engine looks drivers up here and never branches on a provider name. OpenAI and the providers that speak
 * only its wire format are compositions of the one OpenAI driver (openai/); the others have their own folder,
 * and use the OpenAI driver for their `openai` format (mistral, llama2) or chat (huggingface).
 */
import type { ProviderName } from '../../../schemas/config';
import { InvalidRequestError, TranslationError, UnsupportedFeatureError } from '../errors';
import { anthropicDriver } from './anthropic';
import { bedrockDriver } from './bedrock';
import { cohereDriver } from './cohere';
import { geminiDriver } from './gemini';
import { huggingfaceDriver } from './huggingface';
import { llama2Driver } from './llama2';
import { mistralDriver } from './mistral';
import { ollamaDriver } from './ollama';
import { azureDriver, cerebrasDriver, dashscopeDriver, databricksDriver, deepseekDriver, openaiDriver, vllmDriver, xaiDriver } from './openai';
import type { ProviderDriver, TranslateContext } from './provider';

/**
 * Kong's from_format wraps every driver's reason the same way (kong/llm/drivers/<provider>.lua from_format:
 * `transformation failed from type %s://%s: %s`); spec/03-plugins/38-ai-proxy/03-anthropic_integration_spec.lua
 * "bad upstream response" expects it on the client's 500. One place adds it, for every driver.
 */
export function transformationFailedText(ctx: Pick<TranslateContext, 'provider' | 'routeType'>, reason: string): string {
  return `transformation failed from type ${ctx.provider}://${ctx.routeType}: ${reason}`;
}

/**
 * Kong's to_format wraps a request its driver cannot translate as `error transforming to %s://%s` and answers it
 * with normalize-request.lua `bail(400, err)`; gemini.lua and bedrock.lua add the transformer's reason, the other
 * drivers drop it. One place adds the prefix, for every driver, and keeps the reason (docs/providers.md).
 */
export function transformingToText(ctx: Pick<TranslateContext, 'provider' | 'routeType'>, reason: string): string {
  return `error transforming to ${ctx.provider}://${ctx.routeType}: ${reason}`;
}

function withKongTranslationText(driver: ProviderDriver): ProviderDriver {
  return Object.freeze({
    ...driver,
    toRequest(body, ctx) {
      try {
        return driver.toRequest(body, ctx);
      } catch (err) {
        if (err instanceof InvalidRequestError) throw new InvalidRequestError(transformingToText(ctx, err.message), { cause: err.cause ?? err });
        throw err;
      }
    },
    fromResponse(status, headers, body, ctx) {
      try {
        return driver.fromResponse(status, headers, body, ctx);
      } catch (err) {
        if (err instanceof TranslationError) throw new TranslationError(transformationFailedText(ctx, err.message), { cause: err.cause ?? err });
        throw err;
      }
    },
  } satisfies ProviderDriver);
}

const RAW_DRIVERS: Readonly<Partial<Record<ProviderName, ProviderDriver>>> = {
  openai: openaiDriver,
  azure: azureDriver,
  vllm: vllmDriver,
  deepseek: deepseekDriver,
  xai: xaiDriver,
  cerebras: cerebrasDriver,
  dashscope: dashscopeDriver,
  databricks: databricksDriver,
  anthropic: anthropicDriver,
  gemini: geminiDriver,
  bedrock: bedrockDriver,
  cohere: cohereDriver,
  huggingface: huggingfaceDriver,
  ollama: ollamaDriver,
  llama2: llama2Driver,
  mistral: mistralDriver,
};

export const DRIVERS: Readonly<Partial<Record<ProviderName, ProviderDriver>>> = Object.freeze(
  Object.fromEntries(Object.entries(RAW_DRIVERS).map(([name, d]) => [name, withKongTranslationText(d!)])) as Partial<Record<ProviderName, ProviderDriver>>,
);

export function getDriver(provider: ProviderName): ProviderDriver {
  const driver = DRIVERS[provider];
  if (!driver) throw new UnsupportedFeatureError(`provider '${provider}' is not supported by this version of ai-proxy-advanced`);
  return driver;
}

export function hasDriver(provider: ProviderName): boolean {
  return DRIVERS[provider] !== undefined;
}
