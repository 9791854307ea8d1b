/**
 * The bytes of buffered provider answers the whole plugin server may hold at once. Each answer is capped at
 * MAX_RESPONSE_BYTES (upstream.ts, 64 MiB), but that cap is per request: 100 slow answers growing together
 * towards it would take 6.4 GiB and the process down with every request in it. Past the budget, the answer
 * that asked for more fails as a provider error (`error`: failover per failover_criteria), and the others go on.
 *
 * AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES sets it (an integer of bytes, at least MAX_RESPONSE_BYTES so that one
 * answer at the per-answer cap always fits); default 256 MiB. Read once at start; a bad value is named on stderr
 * and the default used (the plugin server must still start and serve).
 */
export const DEFAULT_ANSWERS_MAX_BYTES = 256 * 1024 * 1024;

export class ByteBudget {
  private held = 0;
  constructor(public limit: number) {}

  /** Whether `n` more bytes fit; if so they are held until given back. */
  take(n: number): boolean {
    if (this.held + n > this.limit) return false;
    this.held += n;
    return true;
  }

  give(n: number): void {
    this.held = Math.max(0, this.held - n);
  }

  get inUse(): number {
    return this.held;
  }
}

export function answersMaxBytes(env: NodeJS.ProcessEnv, minimum: number, warn: (m: string) => void): number {
  const raw = env.AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES?.trim();
  if (!raw) return DEFAULT_ANSWERS_MAX_BYTES;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < minimum) {
    warn(`AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES must be an integer of at least ${minimum} (one answer's cap), got '${raw}': using ${DEFAULT_ANSWERS_MAX_BYTES}`);
    return DEFAULT_ANSWERS_MAX_BYTES;
  }
  return n;
}

/** The provider answers held by this process went over the budget. */
export class AnswersOverBudget extends Error {
  readonly code = 'AIPA_UPSTREAM_ANSWERS_OVER_BUDGET';
  constructor(limit: number) {
    super(`the provider answers this plugin server holds would exceed ${limit} bytes (AI_PROXY_ADVANCED_ANSWERS_MAX_BYTES)`);
  }
}
