/**
 * Structured logs: one JSON line per call event (never per packet), on stdout.
 * LOG_LEVEL=debug|info|warn|error|silent (default info).
 */
type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level | 'silent', number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

const envLevel = process.env['LOG_LEVEL'];
let threshold = envLevel !== undefined && envLevel in ORDER ? ORDER[envLevel as Level] : ORDER.info;

export function setLogLevel(level: Level | 'silent'): void {
  threshold = ORDER[level];
}

export function log(level: Level, event: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < threshold) return;
  process.stdout.write(JSON.stringify({ t: new Date().toISOString(), level, event, ...fields }) + '\n');
}
