import { freshTestDatabase, pgSkipReason } from "../helpers/postgres.js";
import { platformSuite } from "./suite.js";

// The same suite on a real PostgreSQL server: a fresh database (random name) per platform instance,
// dropped after the run. Without a server the suite is reported as skipped, with the reason.
const skip = await pgSkipReason();
platformSuite({
  name: "postgres",
  skip,
  fresh: freshTestDatabase,
});
