import { describeDocExamples } from "../helpers/doc-examples.js";

// oracle/device/registrar.ts is left out: its example needs an audit chain; e2e.test.ts runs it.
// outbox-types.ts holds types only.
describeDocExamples(
  "oracle/device",
  new URL("../../oracle/device/", import.meta.url),
  [
    "errors",
    "secure-element",
    "outbox-sql-driver",
    "outbox-schema",
    "outbox-store",
    "outbox-journal",
    "outbox-queries",
    "outbox",
    "answers",
    "retry-policy",
    "delivery-request",
    "fair-scan",
    "delivery",
    "backlog",
    "client",
    "csv-rows",
    "sensor-community-csv",
    "sensor-community",
    "station-import",
    "openaq",
    "epa-aqs",
    "synthetic",
    "simulated-keys",
    "due-heap",
    "simulation-progress",
    "simulator",
  ],
  { classes: true },
);
