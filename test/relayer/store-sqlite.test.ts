import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { relayerStoreSuite } from "./store-suite.js";

// Each store gets its own SQLite file in a fresh folder, removed after the run.
relayerStoreSuite({
  name: "sqlite",
  async fresh() {
    const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-relayer-store-"));
    return { url: path.join(dir, "relayer.sqlite"), drop: () => rm(dir, { recursive: true, force: true }) };
  },
});
