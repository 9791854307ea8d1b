/**
 * Drivers for providers with their own wire formats (#6). Each lives in its own folder with pure translators;
 * the shared stream framing is in streams/.
 *
 * `mistral` and `llama2` also have an `openai` format. When the engine registers an OpenAI-compatible driver for
 * the same provider name, requests in that format go to it (one implementation of OpenAI's wire format); the
 * local OpenAI-format helper (translator-kit/openai-format.ts) is the fallback.
 */
import type { ProviderName } from '../../../schemas/config';
import { anthropicDriver } from './anthropic';
import { bedrockDriver } from './bedrock';
import { cohereDriver } from './cohere';
import { geminiDriver } from './gemini';
import { huggingfaceDriver } from './huggingface';
import { llama2Driver } from './llama2';
import { mistralDriver } from './mistral';
import { ollamaDriver } from './ollama';
import { OPENAI_COMPATIBLE_DRIVERS } from './openai-compatible';
import type { ProviderDriver, TranslateContext } from './provider';

type FormatOf = (ctx: TranslateContext) => string | null | undefined;

/** Route the `openai` format to the engine's driver for this provider, when there is one. */
export function preferOpenAiCompatible(own: ProviderDriver, formatOf: FormatOf, other: ProviderDriver | undefined): ProviderDriver {
  if (!other) return own;
  const pick = (ctx: TranslateContext): ProviderDriver => (formatOf(ctx) === 'openai' ? other : own);
  const driver: ProviderDriver = {
    name: own.name,
    routeTypes: own.routeTypes,
    toRequest: (body, ctx) => pick(ctx).toRequest(body, ctx),
    fromResponse: (status, headers, body, ctx) => pick(ctx).fromResponse(status, headers, body, ctx),
    fromError: (status, headers, body, ctx) => pick(ctx).fromError(status, headers, body, ctx),
    createStreamTranslator: (ctx) => {
      // The engine's OpenAI-compatible drivers leave streaming to the translators: fall back to our own.
      const d = pick(ctx).createStreamTranslator ? pick(ctx) : own;
      if (!d.createStreamTranslator) throw new Error(`driver ${d.name} cannot stream`);
      return d.createStreamTranslator(ctx);
    },
    sign: async (req, ctx, deps) => {
      const d = pick(ctx);
      return d.sign ? d.sign(req, ctx, deps) : req;
    },
  };
  return driver;
}

export const TRANSLATED_DRIVERS: Partial<Record<ProviderName, ProviderDriver>> = {
  anthropic: anthropicDriver,
  gemini: geminiDriver,
  bedrock: bedrockDriver,
  cohere: cohereDriver,
  huggingface: huggingfaceDriver,
  ollama: ollamaDriver,
  llama2: preferOpenAiCompatible(llama2Driver, (ctx) => ctx.target.model.options?.llama2_format, OPENAI_COMPATIBLE_DRIVERS.llama2),
  mistral: preferOpenAiCompatible(mistralDriver, (ctx) => ctx.target.model.options?.mistral_format, OPENAI_COMPATIBLE_DRIVERS.mistral),
};
