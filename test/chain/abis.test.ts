import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, it } from "node:test";

import { renderAbisModule } from "../../scripts/lib/abis.js";

describe("oracle/chain/abis.ts", () => {
  it("matches the compiled artifacts (run `npm run abis` after changing a contract)", async () => {
    const committed = await readFile(new URL("../../oracle/chain/abis.ts", import.meta.url), "utf8");
    assert.equal(committed, await renderAbisModule());
  });
});
