/**
 * Provider registry: the only place that knows which driver serves which `model.provider`.
 * The engine looks drivers up here and never branches on a provider name. OpenAI and the providers that speak
 * only its wire format are compositions of the one OpenAI driver (openai/); the others have their own folder,
 * and use the OpenAI driver for their `openai` format (mistral, llama2) or chat (huggingface).
 */
import type { ProviderName } from '../../../schemas/config';
import { UnsupportedFeatureError } from '../errors';
import { anthropicDriver } from './anthropic';
import { bedrockDriver } from './bedrock';
import { cohereDriver } from './cohere';
import { geminiDriver } from './gemini';
import { huggingfaceDriver } from './huggingface';
import { llama2Driver } from './llama2';
import { mistralDriver } from './mistral';
import { ollamaDriver } from './ollama';
import { azureDriver, cerebrasDriver, dashscopeDriver, databricksDriver, deepseekDriver, openaiDriver, vllmDriver, xaiDriver } from './openai';
import type { ProviderDriver } from './provider';

export const DRIVERS: Readonly<Partial<Record<ProviderName, ProviderDriver>>> = Object.freeze({
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
});

export function getDriver(provider: ProviderName): ProviderDriver {
  const driver = DRIVERS[provider];
  if (!driver) throw new UnsupportedFeatureError(`provider '${provider}' is not supported by this version of ai-proxy-advanced`);
  return driver;
}

export function hasDriver(provider: ProviderName): boolean {
  return DRIVERS[provider] !== undefined;
}
