/** Drivers for OpenAI and the providers that speak OpenAI's wire format (providers/openai/). */
import type { ProviderName } from '../../../schemas/config';
import { OPENAI_STYLE_DRIVERS } from './openai/providers';
import type { ProviderDriver } from './provider';

export const OPENAI_COMPATIBLE_DRIVERS: Partial<Record<ProviderName, ProviderDriver>> = OPENAI_STYLE_DRIVERS;
