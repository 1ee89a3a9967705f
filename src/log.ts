// Structured logs: one JSON object per line on stderr, correlated by deploymentId where
// there is one. Values pass through as given, so secrets must never be handed to a logger.
type Level = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(component: string, minLevel: Level = (process.env.DEPLOYER_LOG_LEVEL as Level) ?? 'info'): Logger {
  const threshold = ORDER[minLevel] ?? ORDER.info;
  const write = (level: Level) => (message: string, fields: Record<string, unknown> = {}) => {
    if (ORDER[level] < threshold) return;
    process.stderr.write(`${JSON.stringify({ at: new Date().toISOString(), level, component, message, ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
