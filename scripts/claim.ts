/**
 * Claims reward tokens: fetches the account's proof from an oracle's HTTP API, checks it against the
 * distributor's current root and claims (directly, or as a claim signed by the beneficiary and
 * relayed by anyone). Exit code 0 when paid (or signed with --sign-only), 1 when the claim cannot be
 * made (the message says why: no entitlement, nothing left to claim, stale oracle…), 2 on bad usage.
 *
 *   CLAIM_SENDER_PRIVATE_KEY=0x… npx tsx scripts/claim.ts --oracle http://127.0.0.1:8548 --account 0x…
 *   BENEFICIARY_PRIVATE_KEY=0x… CLAIM_SENDER_PRIVATE_KEY=0x… npx tsx scripts/claim.ts --relayed --recipient 0x…
 *   BENEFICIARY_PRIVATE_KEY=0x… npx tsx scripts/claim.ts --relayed --sign-only > claim.json
 *   CLAIM_SENDER_PRIVATE_KEY=0x… npx tsx scripts/claim.ts --submit claim.json
 */
import { claimCli } from "../oracle/claim/cli.js";

process.exitCode = await claimCli(process.argv.slice(2), process.env);
