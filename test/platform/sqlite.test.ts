import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { platformSuite } from "./suite.js";

// Each platform instance gets its own SQLite file in a fresh folder, removed after the run.
platformSuite({
  name: "sqlite",
  async fresh() {
    const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-platform-"));
    return { url: path.join(dir, "platform.sqlite"), drop: () => rm(dir, { recursive: true, force: true }) };
  },
});
