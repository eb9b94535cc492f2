/** Chain id of the local audit chain (device registry, reading anchor). */
export const AUDIT_CHAIN_ID = 31337;
/** Chain id of the local reward chain (token, distributor). */
export const REWARD_CHAIN_ID = 31338;
