/**
 * Route parameter parsing shared by the web service's routes (400 with the field's name).
 *
 * @module
 */
import { getAddress, isAddress, type Address } from "viem";

import { ServiceError } from "../../service/errors.js";

/** A 0x address parameter, checksummed; 400 INVALID_ADDRESS otherwise. */
export function addressParam(value: string | undefined, name: string): Address {
  if (value === undefined || !isAddress(value, { strict: false }))
    throw new ServiceError("INVALID_ADDRESS", `${name} must be a 0x address`, { field: name });
  return getAddress(value);
}

/** An optional unix-seconds query parameter; 400 INVALID_QUERY when malformed. */
export function optionalInt(value: unknown, name: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  if (typeof value !== "string" || !/^[0-9]{1,15}$/.test(value))
    throw new ServiceError("INVALID_QUERY", `${name} must be unix seconds`, { field: name });
  return Number(value);
}
