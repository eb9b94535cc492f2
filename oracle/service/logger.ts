import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Structured JSON logs (pino). `LOG_LEVEL` sets the level; tests pass `level: "silent"`.
 * @example const log = createLogger("relayer"); log.info({ batchId: 3 }, "batch anchored");
 */
export function createLogger(service: string, level = process.env.LOG_LEVEL ?? "info"): Logger {
  return pino({ name: service, level, base: { service } });
}
