import { ConfigError } from "./errors.js";
import { createLogger, type Logger } from "./logger.js";

/** What a service's `start` answers: something that stops gracefully. */
export interface Stoppable {
  stop(): Promise<void>;
}

export interface RunServiceOptions<Config, Running extends Stoppable> {
  name: string;
  /** Parses and validates the environment; throws ConfigError naming every bad variable. */
  parse(env: NodeJS.ProcessEnv): Config;
  start(config: Config, logger: Logger): Promise<Running>;
  logLevel(config: Config): string;
  /** After a signal, how long the drain may take before the process ends anyway. */
  shutdownTimeoutMs(config: Config): number;
}

/**
 * The CLI life of a service: parse the environment (a ConfigError prints its message and exits 2),
 * start, and on SIGINT/SIGTERM stop gracefully (exit 0), or at once on a second signal or when the
 * drain outlasts the timeout (exit 1).
 *
 * @example
 * await runService({ name: "relayer", parse: parseRelayerConfig, start: startRelayer,
 *   logLevel: (c) => c.logLevel, shutdownTimeoutMs: (c) => c.shutdownTimeoutMs });
 */
export async function runService<Config, Running extends Stoppable>(options: RunServiceOptions<Config, Running>): Promise<Running> {
  let config: Config;
  let logger: Logger;
  let running: Running;
  try {
    config = options.parse(process.env);
    logger = createLogger(options.name, options.logLevel(config));
    running = await options.start(config, logger);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(`${options.name}: ${error.message}`);
    process.exit(2);
  }

  const stop = (signal: NodeJS.Signals) => {
    logger.info({ signal }, "signal received");
    const force = setTimeout(() => process.exit(1), options.shutdownTimeoutMs(config));
    force.unref();
    process.once(signal, () => process.exit(1));
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
  return running;
}
