/**
 * Gateway log, in nginx error-log style (`<time> [<level>] <message>`), filtered by Kong's `log_level`.
 * Written to stderr, or to a sink tests pass in. Never logs provider keys: callers log messages, not configs.
 */
export const LEVELS = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'] as const;
export type Level = (typeof LEVELS)[number];

export interface Logger {
  log(level: Level, message: string): void;
  debug(m: string): void;
  info(m: string): void;
  notice(m: string): void;
  warn(m: string): void;
  err(m: string): void;
}

export function createLogger(levelName: string, sink: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger {
  const min = LEVELS.indexOf((levelName === 'err' ? 'error' : levelName) as Level);
  const threshold = min < 0 ? LEVELS.indexOf('notice') : min;
  const log = (level: Level, message: string): void => {
    if (LEVELS.indexOf(level) < threshold) return;
    sink(`${new Date().toISOString()} [${level}] ${message}`);
  };
  return {
    log,
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    notice: (m) => log('notice', m),
    warn: (m) => log('warn', m),
    err: (m) => log('error', m),
  };
}
