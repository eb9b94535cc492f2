/**
 * `GET /api/config`: what the pages need to know about the chains and services (public RPC URLs,
 * addresses, reachability).
 *
 * @module
 */
import type express from "express";

import { handle } from "../../service/app.js";
import type { Upstreams } from "../upstream.js";

/** Adds `GET /api/config`. */
export function configRoutes(router: express.Router, up: Upstreams): void {
  const { options, logger } = up;
  router.get(
    "/api/config",
    handle(async (_req, res) => {
      let auditInfo: Record<string, unknown> | null = null;
      if (options.audit !== undefined) {
        auditInfo = { rpcUrl: options.audit.publicRpcUrl ?? options.audit.rpcUrl };
        try {
          const a = await up.auditChain();
          Object.assign(auditInfo, { reachable: true, chainId: a.chainId, anchor: a.anchor, registry: a.registry });
        } catch (error) {
          Object.assign(auditInfo, { reachable: false, error: (error as Error).message });
        }
      }
      let rewardInfo: Record<string, unknown> | null = null;
      if (options.reward !== undefined) {
        const r = options.reward;
        rewardInfo = { rpcUrl: r.publicRpcUrl ?? r.rpcUrl, chainId: r.chainId, distributor: r.distributor };
        try {
          Object.assign(rewardInfo, { reachable: true, token: await up.rewardToken() });
        } catch (error) {
          Object.assign(rewardInfo, {
            reachable: false,
            error: `the reward chain does not answer at ${r.rpcUrl}`,
            token: r.token === undefined ? null : { address: r.token },
          });
          logger.debug({ err: error }, "reward chain not reachable");
        }
      }
      res.json({
        audit: auditInfo,
        reward: rewardInfo,
        services: {
          platform: options.platform === undefined ? null : { url: options.platform.url },
          relayer: options.relayer === undefined ? null : { url: options.relayer.url },
          oracle: options.oracle === undefined ? null : { url: options.oracle.url },
        },
      });
    }),
  );
}
