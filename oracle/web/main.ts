/**
 * Runs the web service from a parsed configuration (scripts/web.ts).
 *
 * @module
 */
import { listen } from "../service/app.js";
import type { Logger } from "../service/logger.js";
import type { WebConfig } from "./config.js";
import { createWebServer } from "./server.js";

/**
 * Builds the assets, starts the web service and answers something that stops it gracefully.
 *
 * @example
 * const running = await startWeb(parseWebConfig(process.env), createLogger("web"));
 * await running.stop();
 */
export async function startWeb(config: WebConfig, logger: Logger): Promise<{ url: string; stop(): Promise<void> }> {
  const web = await createWebServer({
    logger,
    session: config.session,
    ...(config.publicOrigin === undefined ? {} : { publicOrigin: config.publicOrigin }),
    ...(config.audit === undefined ? {} : { audit: config.audit }),
    ...(config.platform === undefined ? {} : { platform: config.platform }),
    ...(config.relayer === undefined ? {} : { relayer: config.relayer }),
    ...(config.oracle === undefined ? {} : { oracle: config.oracle }),
    ...(config.reward === undefined ? {} : { reward: config.reward }),
    ...(config.market === undefined ? {} : { market: config.market }),
  });
  if (config.trustProxy !== undefined) web.app.set("trust proxy", config.trustProxy);
  const server = await listen(web.app, config.port, config.host);
  logger.info({ url: server.url, claim: `${server.url}/claim` }, "web listening");
  return {
    url: server.url,
    async stop() {
      await server.close();
      await web.stop();
    },
  };
}
