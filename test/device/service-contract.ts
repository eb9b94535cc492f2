// Test helper (no side effects on import): the contract of `POST /v1/readings` as the device SDK
// relies on it. The same cases run against the fakes of fake-services.ts and against the real
// platform and relayer (service-contract.test.ts), so a fake cannot answer what no service sends.
// Error answers are the table's: status = ERROR_STATUS[code] (oracle/core/error-codes.ts).
import assert from "node:assert/strict";

import type { Address, Hex } from "viem";

import { ERROR_STATUS, type ErrorCode } from "../../oracle/core/error-codes.js";
import { ReadingDigester } from "../../oracle/core/reading.js";
import { classifyResponse, parseRetryAfter, type DeliveryOutcome } from "../../oracle/device/answers.js";
import { signReading, type ReadingFields, type SignedReading } from "../../oracle/device/client.js";
import { deliveryBody } from "../../oracle/device/delivery-request.js";
import { SoftwareSecureElement, type SecureElement } from "../../oracle/device/secure-element.js";
import { generatePrivateKey } from "../../oracle/core/keys.js";
import type { ServiceKind } from "./fake-services.js";

/** A device's standing in the registry the services read. */
export type DeviceState = "active" | "suspended" | "revoked" | "unknown";

/** What a contract case needs of the services under test (fakes or real ones). */
export interface ContractSubject {
  readonly chainId: number;
  readonly anchor: Address;
  /** Readings a device may send before 429 DEVICE_QUOTA_EXCEEDED. */
  readonly deviceQuota: number;
  url(kind: ServiceKind): string;
  /** A fresh device in `state`; the services' registry indexes have caught up with it. */
  device(state: DeviceState): Promise<SecureElement>;
  /** Starts shutting `kind` down (the last case: it does not come back). */
  shutDown(kind: ServiceKind): Promise<void>;
  /**
   * The time a reading should carry now, seconds: the chain's clock where there is a chain (a local
   * chain mining many blocks runs ahead of the wall clock, and a status change is judged by block time).
   */
  clock?(): Promise<number>;
  /** Fakes only: answer every request as an overloaded relayer / a rate-limited service. */
  setMode?(kind: ServiceKind, mode: "ok" | "overloaded" | "rate-limited"): void;
}

/** An answer as the device SDK sees it. */
export type ServiceAnswer = { status: number; retryAfter: string | null; body: unknown; text: string };

/** One case of the contract: what is sent and what every service of `kinds` answers. */
export type ContractCase = {
  name: string;
  kinds: readonly ServiceKind[];
  /** Set when the real service cannot be brought to answer this for real (the reason). */
  fakeOnly?: string;
  /** Shuts a service down: run after every other case. */
  last?: boolean;
  run(subject: ContractSubject, kind: ServiceKind): Promise<void>;
};

const BOTH: readonly ServiceKind[] = ["platform", "relayer"];
const FIELDS = { temperature_c: 8.5, humidity_pct: 70 };

/** POSTs one reading body to `kind` and reads the answer. */
export async function post(subject: ContractSubject, kind: ServiceKind, body: Record<string, string>): Promise<ServiceAnswer> {
  const res = await fetch(`${subject.url(kind)}/v1/readings`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: text.length > 0 ? JSON.parse(text) : null, text };
}

async function sign(
  subject: ContractSubject,
  element: SecureElement,
  seq: number,
  ts = nowSeconds(),
  fields: ReadingFields = FIELDS,
): Promise<SignedReading> {
  return signReading(element, new ReadingDigester(subject.chainId, subject.anchor), { seq, ts, fields });
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/** How the device SDK takes the answer. */
function outcomeOf(answer: ServiceAnswer): DeliveryOutcome {
  return classifyResponse(answer.status, answer.body, parseRetryAfter(answer.retryAfter, Date.now()), answer.text);
}

/** The answer is the table's error for `code`, in the one JSON error shape. */
export function assertError(answer: ServiceAnswer, code: ErrorCode): void {
  const error = (answer.body as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  assert.deepEqual({ status: answer.status, code: error?.code }, { status: ERROR_STATUS[code], code });
  assert.equal(typeof error?.message, "string");
  assert.deepEqual(Object.keys(answer.body as object), ["error"]);
  if (error?.details !== undefined) assert.equal(typeof error.details, "object");
}

/** The success body of `kind` for `reading` (the platform's summary, the relayer's queued receipt). */
function assertAccepted(kind: ServiceKind, answer: ServiceAnswer, reading: SignedReading, duplicate: boolean): void {
  const body = answer.body as Record<string, unknown>;
  if (kind === "platform") {
    assert.equal(answer.status, duplicate ? 200 : 201);
    assert.deepEqual(Object.keys(body).sort(), ["dataHash", "device", "receivedAt", "seq", "status", "ts"]);
    assert.deepEqual(
      { status: body.status, device: body.device, seq: body.seq, ts: body.ts, dataHash: body.dataHash },
      { status: duplicate ? "duplicate" : "stored", device: reading.device, seq: reading.seq, ts: reading.ts, dataHash: reading.dataHash },
    );
    assert.ok(!Number.isNaN(Date.parse(String(body.receivedAt))));
  } else {
    assert.equal(answer.status, 202);
    assert.deepEqual(Object.keys(body).sort(), ["duplicate", "receipt", "status"]);
    assert.deepEqual([body.status, body.duplicate], ["queued", duplicate]);
    const receipt = body.receipt as Record<string, unknown>;
    assert.deepEqual(Object.keys(receipt).sort(), ["dataHash", "deadline", "device", "seq", "signature", "signer"]);
    assert.deepEqual([receipt.device, receipt.seq, receipt.dataHash], [reading.device, String(reading.seq), reading.dataHash]);
    assert.match(String(receipt.deadline), /^\d+$/);
    assert.match(String(receipt.signature), /^0x[0-9a-f]{130}$/);
    assert.match(String(receipt.signer), /^0x[0-9a-fA-F]{40}$/);
  }
  assert.deepEqual(outcomeOf(answer), { kind: "delivered", status: answer.status, duplicate, response: answer.text });
}

/** Sends a fresh reading of a device in `state` and expects `code`, taken by the SDK as `outcome`. */
function refusedCase(
  name: string,
  state: DeviceState,
  code: ErrorCode,
  outcome: DeliveryOutcome["kind"],
  kinds: readonly ServiceKind[] = BOTH,
): ContractCase {
  return {
    name,
    kinds,
    async run(subject, kind) {
      const element = await subject.device(state);
      const ts = Math.max(nowSeconds(), (await subject.clock?.()) ?? 0);
      const answer = await post(subject, kind, deliveryBody(kind, await sign(subject, element, 1, ts)));
      assertError(answer, code);
      assert.equal(outcomeOf(answer).kind, outcome);
    },
  };
}

/** The SDK retries the answer later, holding back the whole target or only the device. */
function assertRetry(answer: ServiceAnswer, scope: "target" | "reading"): void {
  const outcome = outcomeOf(answer);
  assert.deepEqual([outcome.kind, outcome.kind === "retry" && outcome.scope], ["retry", scope]);
}

/** A load answer only the fakes can be told to give (`fakeOnly` says why). */
function fakeModeCase(name: string, kinds: readonly ServiceKind[], mode: "overloaded" | "rate-limited", code: ErrorCode): ContractCase {
  return {
    name,
    kinds,
    fakeOnly: "the real service gives this answer only under load the other cases would feel",
    async run(subject, kind) {
      const reading = await sign(subject, await subject.device("active"), 1);
      subject.setMode!(kind, mode);
      const answer = await post(subject, kind, deliveryBody(kind, reading));
      subject.setMode!(kind, "ok");
      assertError(answer, code);
      assert.match(answer.retryAfter ?? "", /^[1-9]\d*$/);
      assertRetry(answer, "target");
    },
  };
}

/** The contract cases, in the order they run (cases marked `last` at the end). */
export const CONTRACT_CASES: readonly ContractCase[] = [
  {
    name: "accepted: a new reading is stored (platform 201) / queued with a receipt (relayer 202)",
    kinds: BOTH,
    async run(subject, kind) {
      const reading = await sign(subject, await subject.device("active"), 1);
      assertAccepted(kind, await post(subject, kind, deliveryBody(kind, reading)), reading, false);
    },
  },
  {
    name: "duplicate resend: 2xx, never 409 (platform 200 status duplicate, relayer 202 duplicate + the same receipt)",
    kinds: BOTH,
    async run(subject, kind) {
      const reading = await sign(subject, await subject.device("active"), 1);
      const first = await post(subject, kind, deliveryBody(kind, reading));
      const again = await post(subject, kind, deliveryBody(kind, reading));
      assertAccepted(kind, again, reading, true);
      if (kind === "relayer") {
        assert.deepEqual((again.body as { receipt: unknown }).receipt, (first.body as { receipt: unknown }).receipt);
      }
    },
  },
  {
    name: "sequence conflict: another reading under a stored seq is 409 SEQUENCE_CONFLICT, rejected",
    kinds: BOTH,
    async run(subject, kind) {
      const element = await subject.device("active");
      const ts = nowSeconds();
      await post(subject, kind, deliveryBody(kind, await sign(subject, element, 1, ts)));
      const other = await sign(subject, element, 1, ts, { temperature_c: 9.5 });
      const answer = await post(subject, kind, deliveryBody(kind, other));
      assertError(answer, "SEQUENCE_CONFLICT");
      assert.equal(outcomeOf(answer).kind, "rejected");
    },
  },
  {
    name: "any order: a lower seq not seen yet is accepted after a higher one, 202 delivered (relayer)",
    kinds: ["relayer"],
    async run(subject, kind) {
      const element = await subject.device("active");
      const two = await sign(subject, element, 2);
      const one = await sign(subject, element, 1);
      assert.equal((await post(subject, kind, deliveryBody(kind, two))).status, 202);
      const answer = await post(subject, kind, deliveryBody(kind, one));
      assert.equal(answer.status, 202);
      assert.equal(outcomeOf(answer).kind, "delivered");
    },
  },
  refusedCase(
    "unknown device: 403 UNKNOWN_DEVICE, retried for that reading (index catching up)",
    "unknown",
    "UNKNOWN_DEVICE",
    "retryReading",
  ),
  refusedCase("device not active: 403 DEVICE_NOT_ACTIVE, rejected", "suspended", "DEVICE_NOT_ACTIVE", "rejected"),
  refusedCase("device revoked: 403 DEVICE_REVOKED, rejected", "revoked", "DEVICE_REVOKED", "rejected"),
  {
    name: "bad signature: a signature of another reading is 400 INVALID_SIGNATURE, rejected",
    kinds: BOTH,
    async run(subject, kind) {
      const element = await subject.device("active");
      const reading = await sign(subject, element, 1);
      const other = await sign(subject, element, 2);
      const answer = await post(subject, kind, deliveryBody(kind, { ...reading, signature: other.signature as Hex }));
      assertError(answer, "INVALID_SIGNATURE");
      assert.equal(outcomeOf(answer).kind, "rejected");
    },
  },
  {
    name: "future timestamp: an hour ahead is 400 FUTURE_TIMESTAMP, rejected",
    kinds: BOTH,
    async run(subject, kind) {
      const reading = await sign(subject, await subject.device("active"), 1, nowSeconds() + 3600);
      const answer = await post(subject, kind, deliveryBody(kind, reading));
      assertError(answer, "FUTURE_TIMESTAMP");
      assert.equal(outcomeOf(answer).kind, "rejected");
    },
  },
  {
    name: "device quota: past it, 429 DEVICE_QUOTA_EXCEEDED with Retry-After holds back only that device",
    kinds: BOTH,
    async run(subject, kind) {
      const element = await subject.device("active");
      for (let seq = 1; seq <= subject.deviceQuota; seq++) {
        const answer = await post(subject, kind, deliveryBody(kind, await sign(subject, element, seq)));
        assert.ok(answer.status < 300, `reading ${seq} within the quota: ${answer.status} ${answer.text}`);
      }
      const answer = await post(subject, kind, deliveryBody(kind, await sign(subject, element, subject.deviceQuota + 1)));
      assertError(answer, "DEVICE_QUOTA_EXCEEDED");
      assert.match(answer.retryAfter ?? "", /^[1-9]\d*$/);
      assertRetry(answer, "reading");
    },
  },
  fakeModeCase(
    "overloaded (fake only: the real relayer sheds load only under concurrent load): 429 OVERLOADED, Retry-After: 1, pauses the target",
    ["relayer"],
    "overloaded",
    "OVERLOADED",
  ),
  fakeModeCase(
    "rate limited (fake only: the real per-client limit would throttle every other case): 429 RATE_LIMITED with Retry-After pauses the target",
    BOTH,
    "rate-limited",
    "RATE_LIMITED",
  ),
  {
    name: "shutting down: 503 SHUTTING_DOWN pauses the target (relayer Retry-After: 5, platform none)",
    kinds: BOTH,
    last: true,
    async run(subject, kind) {
      const reading = await sign(subject, await subject.device("active"), 1);
      await subject.shutDown(kind);
      const answer = await post(subject, kind, deliveryBody(kind, reading));
      assertError(answer, "SHUTTING_DOWN");
      assert.equal(answer.retryAfter, kind === "relayer" ? "5" : null);
      assertRetry(answer, "target");
    },
  },
];

/** A fresh software key of either scheme (a device nobody registered yet). */
export function freshElement(scheme: "p256" | "secp256k1" = "p256"): SoftwareSecureElement {
  return SoftwareSecureElement.fromPrivateKey(scheme, generatePrivateKey(scheme));
}
