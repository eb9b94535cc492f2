/**
 * The auditor in `npm start`: its port (AUDITOR_PORT, default 8610) and environment. It reads the
 * platform with the stack's consumer key and serves its API to the same keys as the platform.
 *
 * @module
 */

/** The auditor's URL in the stack (the dashboard's AUDITOR_URL). @example auditorUrl(process.env); // "http://127.0.0.1:8610" */
export function auditorUrl(env: NodeJS.ProcessEnv): string {
  return `http://127.0.0.1:${Number(env.AUDITOR_PORT ?? 8610)}`;
}

/**
 * @example startProcess("auditor", "scripts/auditor.ts", auditorEnv({ … }).env);
 */
export function auditorEnv(p: { platformUrl: string; consumerKey: string; keysFile: string; env: NodeJS.ProcessEnv }): {
  url: string;
  env: Record<string, string>;
} {
  const port = Number(p.env.AUDITOR_PORT ?? 8610);
  return {
    url: auditorUrl(p.env),
    env: {
      PORT: String(port),
      PLATFORM_URL: p.platformUrl,
      PLATFORM_API_KEY: p.consumerKey,
      AUDITOR_API_KEYS_FILE: p.keysFile,
      CONFIRMATIONS: "2",
      POLL_MS: "2000",
      ...(p.env.AUDITOR_WEBHOOK_URL === undefined ? {} : { WEBHOOK_URL: p.env.AUDITOR_WEBHOOK_URL }),
    },
  };
}
