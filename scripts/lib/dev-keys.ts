import type { Hex } from "viem";

/**
 * Hardhat's well-known development keys (mnemonic "test test … junk"), in the roles that
 * ignition/parameters/local.json gives their addresses. Public knowledge: local chains only.
 */
export const DEV_KEYS = {
  /** #0: DEFAULT_ADMIN_ROLE on every contract. */
  admin: "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  /** #1: REGISTRAR_ROLE. */
  registrar: "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  /** #2: RELAYER_ROLE (sends anchorBatch). */
  relayer: "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  /** #3: funded, no role: for "wrong role" and "anyone relays" cases. */
  stranger: "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  /** #4: the relayer's receipt key (signs inclusion receipts; no funds needed). */
  receipt: "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  /** #5, #6, #7: the oracle committee (threshold 2). */
  oracles: [
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  ],
  /** #8: the stack operator's eSIM issuer (recorded with `addIssuer`; signs attestations, needs no funds). */
  issuer: "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  /** #15: pays the relayer's gas-free device registrations (no role). */
  deviceRegistrar: "0x8166f546bab6da521a8369cab06c5d2b9e46670292d85c875ee9ec20e84ffb61",
  /** #10–#14: contributors (device beneficiaries in the local stack; funded, so they can claim from a wallet). */
  contributors: [
    "0xf214f2b2cd398c806f84e317254e0f0b801d0643303237d97a22a48e01628897",
    "0x701b615bbdfb9de65240bc28bd21bbc0d996645a3dd57e7b12bc2bdf6f192c82",
    "0xa267530f49f8280200edf313ee7af6b827f2a8bce2897751d06a843f644967b1",
    "0x47c99abed3324a2707c28affff1267e45918ec8c3f20b8aa892e8b065d2942dd",
    "0xc526ee95bf44d8fc405a158bb884d9d1238d99f0612e9f33d006bb0789009aaa",
  ],
} as const satisfies Record<string, Hex | readonly Hex[]>;
