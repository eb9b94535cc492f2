/**
 * The admission cases every service that takes readings in must answer alike: the same code and
 * the same HTTP status (from ERROR_STATUS) for the same bad reading. Helper only: the shared
 * admission's table test (test/core/admission.test.ts) and both service suites (platform, relayer)
 * use it.
 */
import { ERROR_STATUS } from "../../oracle/core/error-codes.js";
import type { AdmissionCode } from "../../oracle/core/admission.js";

/** One bad reading and the refusal it gets. */
export interface AdmissionCase {
  name: string;
  code: AdmissionCode;
  status: (typeof ERROR_STATUS)[AdmissionCode];
}

/** Every admission refusal, in the shared check order. */
export const ADMISSION_CASES: readonly AdmissionCase[] = [
  { name: "timestamp further ahead than the allowed skew", code: "FUTURE_TIMESTAMP", status: ERROR_STATUS.FUTURE_TIMESTAMP },
  { name: "device not in the registry", code: "UNKNOWN_DEVICE", status: ERROR_STATUS.UNKNOWN_DEVICE },
  { name: "signature by another key", code: "INVALID_SIGNATURE", status: ERROR_STATUS.INVALID_SIGNATURE },
  { name: "device revoked", code: "DEVICE_REVOKED", status: ERROR_STATUS.DEVICE_REVOKED },
  { name: "device suspended at the reading's timestamp", code: "DEVICE_NOT_ACTIVE", status: ERROR_STATUS.DEVICE_NOT_ACTIVE },
];

/** The status a service must answer for an admission code. */
export function admissionStatus(code: AdmissionCode): number {
  return ADMISSION_CASES.find((c) => c.code === code)!.status;
}
