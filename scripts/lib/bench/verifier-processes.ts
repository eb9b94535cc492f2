/**
 * The agency's auditor (scripts/auditor.ts) and the oracle committee (scripts/oracle.ts) as child
 * processes on the bench chains, configured as `npm start` runs them (./stack-auditor.ts,
 * ./stack-committee.ts), for the soak run.
 *
 * @module
 */
import path from "node:path";

import { type Address } from "viem";

import { DEV_KEYS } from "../dev-keys.js";
import { auditorEnv } from "../stack-auditor.js";
import { oracleEnv } from "../stack-committee.js";
import { type BenchChain } from "./chains.js";
import { chainEnv, freePort, startServiceProcess, type ServiceProcess } from "./relayer-process.js";

type AuditChain = BenchChain & { registry: Address; anchor: Address };

/** The auditor following the audit chain, reading the platform with a consumer key, on its own SQLite file. */
export async function startAuditorProcess(
  audit: AuditChain,
  p: { platformUrl: string; consumerKey: string; keysFile: string; databaseFile: string; logFile: string },
): Promise<ServiceProcess> {
  const { env } = auditorEnv({ platformUrl: p.platformUrl, consumerKey: p.consumerKey, keysFile: p.keysFile, env: { AUDITOR_PORT: "0" } });
  return startServiceProcess("auditor", "scripts/auditor.ts", { ...chainEnv(audit), ...env, DATABASE_URL: p.databaseFile }, p.logFile);
}

/**
 * `members` oracles (dev accounts #5–#7; the distributor's threshold is 2) on free ports, each
 * knowing the others as peers, member i on its SQLite file `databaseFile(i)`, logging to `<dir>/oracle-<i>.log`.
 */
export async function startOracleCommittee(
  audit: AuditChain,
  reward: BenchChain & { distributor: Address },
  p: { members: number; epochBlocks: number; dir: string; databaseFile: (member: number) => string },
): Promise<ServiceProcess[]> {
  const keys = DEV_KEYS.oracles.slice(0, p.members);
  const ports = await Promise.all(keys.map(() => freePort()));
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  return Promise.all(
    keys.map((key, i) =>
      startServiceProcess(
        "oracle",
        "scripts/oracle.ts",
        {
          ...chainEnv(audit),
          ...oracleEnv({
            key,
            port: ports[i],
            peers: urls.filter((_, j) => j !== i),
            databaseFile: p.databaseFile(i),
            reward: { rpcUrl: reward.rpcUrl, chainId: reward.chainId, distributor: reward.distributor, deployBlock: 0 },
            epochBlocks: p.epochBlocks,
          }),
        },
        path.join(p.dir, `oracle-${i}.log`),
      ),
    ),
  );
}
