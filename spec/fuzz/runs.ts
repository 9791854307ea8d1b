/** How many cases each property runs: short in CI, more with FUZZ_RUNS=N (e.g. FUZZ_RUNS=5000 npm test). */
export function fuzzRuns(ciDefault: number): number {
  const n = Number(process.env.FUZZ_RUNS);
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}

/** A replayable seed: FUZZ_SEED=N reproduces a failing run (fast-check prints the seed it used). */
export function fuzzSeed(): number | undefined {
  const n = Number(process.env.FUZZ_SEED);
  return Number.isInteger(n) ? n : undefined;
}
