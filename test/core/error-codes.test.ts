import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ADMISSION_CODES } from "../../oracle/core/admission.js";
import { ERROR_STATUS, isErrorCode, type ErrorCode } from "../../oracle/core/error-codes.js";
import { errorBody, InvalidHexError, SensorSealError } from "../../oracle/core/errors.js";
import { RejectionError } from "../../oracle/relayer/errors.js";
import { ServiceError } from "../../oracle/service/errors.js";

const CODES = Object.keys(ERROR_STATUS) as ErrorCode[];

describe("the one table of error codes", () => {
  it("gives every code an HTTP error status", () => {
    for (const code of CODES) {
      assert.match(code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok([400, 401, 403, 404, 409, 413, 415, 429, 500, 501, 502, 503].includes(ERROR_STATUS[code]), code);
      assert.equal(isErrorCode(code), true);
    }
    assert.equal(isErrorCode("NO_SUCH_CODE"), false);
    assert.equal(isErrorCode("toString"), false);
  });

  it("holds every admission code", () => {
    for (const code of ADMISSION_CODES) assert.equal(isErrorCode(code), true, code);
  });

  it("is what every service error answers: ServiceError, its shortcut and the relayer's RejectionError take the table's status", () => {
    for (const code of CODES) {
      const direct = new ServiceError(code, "m");
      const of = ServiceError.of(code, "m", { x: 1 });
      const rejection = new RejectionError(code, "m");
      for (const error of [direct, of, rejection]) {
        assert.ok(error instanceof SensorSealError);
        assert.equal(error.status, ERROR_STATUS[code], code);
        assert.equal(error.code, code);
      }
    }
  });

  it("answers one JSON shape: { error: { code, message, details? } }", () => {
    assert.deepEqual(ServiceError.of("UNKNOWN_DEVICE", "device is not in the registry", { device: "0x1" }).body(), {
      error: { code: "UNKNOWN_DEVICE", message: "device is not in the registry", details: { device: "0x1" } },
    });
    assert.deepEqual(ServiceError.of("NOT_FOUND", "no route").body(), { error: { code: "NOT_FOUND", message: "no route" } });
    const core = new InvalidHexError("0xzz");
    assert.deepEqual(errorBody(core), { error: core.toJSON() });
    assert.deepEqual(Object.keys(core.toJSON()), ["code", "message", "details"]);
    assert.deepEqual(JSON.parse(JSON.stringify(ServiceError.of("FORBIDDEN", "no"))), { code: "FORBIDDEN", message: "no" });
  });

  it("answers a core input error with its own code and 400", () => {
    const error = ServiceError.fromInput(new InvalidHexError("0xzz"));
    assert.deepEqual([error.status, error.code], [400, "INVALID_HEX"]);
    const foreign = ServiceError.fromInput(new SensorSealError("SOMETHING_ELSE", "m"));
    assert.deepEqual([foreign.status, foreign.code], [400, "INVALID_BODY"]);
  });
});
