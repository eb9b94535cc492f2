import { freshTestDatabase, pgSkipReason } from "../helpers/postgres.js";
import { relayerStoreSuite } from "./store-suite.js";

// The same suite on a real PostgreSQL server: a fresh database (random name) per store, dropped
// after the run. Without a server the suite is reported as skipped, with the reason.
const skip = await pgSkipReason();
relayerStoreSuite({
  name: "postgres",
  skip,
  fresh: freshTestDatabase,
});
