/**
 * Semantic routing's log lines go to the plugin server's stderr, which is Kong's error log (as the stream
 * endpoint's do). Injected so tests can read them. Callers log state changes only (store down / back, a
 * description that could not be embedded), never per request, so an outage cannot flood the log.
 */
export type SemanticLog = (message: string) => void;

export const stderrLog: SemanticLog = (message) => {
  process.stderr.write(`[ai-proxy-advanced] semantic: ${message}\n`);
};
