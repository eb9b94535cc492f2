/**
 * The auditor service on a test stack (test/verifier/fixtures.ts), reading the platform with the
 * stack's consumer key and answering its API to the same key. Importing this file does nothing.
 */
import path from "node:path";

import type { PublicClient } from "viem";

import { createAuditorService, type AuditorServiceParameters, type RunningAuditor } from "../../oracle/auditor/main.js";
import { hashApiKey } from "../../oracle/platform/auth.js";
import { createLogger } from "../../oracle/service/logger.js";
import { request, waitFor, type Stack } from "../verifier/fixtures.js";

/**
 * Starts the auditor on an ephemeral port (50 ms polls, 1 confirmation, fast retries, silence alerts
 * off, store in the stack's folder, the stack's consumer key); `overrides` replace any of these.
 */
export function startStackAuditor(stack: Stack, overrides: Partial<AuditorServiceParameters> = {}): Promise<RunningAuditor> {
  return createAuditorService({
    databaseUrl: path.join(stack.dir, "auditor.sqlite"),
    apiKeys: [{ id: "agency", role: "consumer", sha256: hashApiKey(stack.apiKey) }],
    port: 0,
    client: stack.chain.publicClient as PublicClient,
    anchor: stack.chain.anchor,
    deployBlock: 0,
    platform: { url: stack.platformUrl, apiKey: stack.apiKey },
    confirmations: 1,
    pollMs: 50,
    retry: { baseMs: 50, maxMs: 400, maxAttempts: 50 },
    silenceSeconds: 1e9,
    logger: createLogger("auditor-test", process.env.TEST_LOG_LEVEL ?? "silent"),
    ...overrides,
  });
}

/** Mines until the auditor's verdict counts satisfy `done`. */
export async function waitVerdicts(stack: Stack, auditor: RunningAuditor, what: string, done: (v: Record<string, number>) => boolean) {
  await waitFor(
    async () => {
      await stack.chain.mine(1);
      return done((await request(`${auditor.url}/v1/status`)).body.verdicts);
    },
    what,
    120_000,
    100,
  );
}
