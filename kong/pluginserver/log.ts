/**
 * The plugin server's logger. Everything goes to stderr: stdout carries the --dump-* output that Kong parses
 * (kong-js-pdk's node-color-log writes to stdout and corrupts it, kong-plugin-protocol.md §1.2). Kong merges the
 * server's stderr into its own log with a `[<name>:<pid>]` prefix, so lines stay plain text without colour.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  level: LogLevel;
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  enabled(level: LogLevel): boolean;
}

export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = defaultSink): Logger {
  const logger: Logger = {
    level,
    enabled: (l) => RANK[l] <= RANK[logger.level],
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    debug: (m) => emit('debug', m),
  };
  function emit(l: LogLevel, m: string): void {
    if (RANK[l] > RANK[logger.level]) return;
    sink(`${new Date().toISOString()} [${l.toUpperCase()}] ${m}\n`);
  }
  return logger;
}

function defaultSink(line: string): void {
  process.stderr.write(line);
}
