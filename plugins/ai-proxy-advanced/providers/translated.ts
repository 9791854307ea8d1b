/** Drivers for providers with their own wire formats. Filled by the translators work (#6). */
import type { ProviderName } from '../../../schemas/config';
import type { ProviderDriver } from './provider';

export const TRANSLATED_DRIVERS: Partial<Record<ProviderName, ProviderDriver>> = {};
