/** Drivers for OpenAI and the providers that speak OpenAI's wire format. Filled by the engine work (#5). */
import type { ProviderName } from '../../../schemas/config';
import type { ProviderDriver } from './provider';

export const OPENAI_COMPATIBLE_DRIVERS: Partial<Record<ProviderName, ProviderDriver>> = {};
