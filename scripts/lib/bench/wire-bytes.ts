/**
 * Bytes on the wire as the sockets count them (`net.Socket` `bytesWritten` / `bytesRead`): every
 * application byte, HTTP headers and MQTT framing included; not TCP/IP headers, nor TLS (none on
 * loopback). A closed socket keeps its counts, so a tally stays right after connections end.
 *
 * @module
 */
import type { Socket } from "node:net";

/** Bytes sent and received, seen from one side (the device's). */
export type WireBytes = { sent: number; received: number };

/**
 * The sockets one client used, and their bytes.
 *
 * @example
 * ```ts
 * const tally = new SocketTally();
 * request.on("socket", (socket) => tally.add(socket)); // each socket once, however many requests reuse it
 * tally.bytes(); // { sent: 181, received: 402 }
 * ```
 */
export class SocketTally {
  readonly #sockets = new Set<Socket>();

  add(socket: Socket): void {
    this.#sockets.add(socket);
  }

  bytes(): WireBytes {
    let sent = 0;
    let received = 0;
    for (const s of this.#sockets) {
      sent += s.bytesWritten;
      received += s.bytesRead;
    }
    return { sent, received };
  }
}

/** The sum of several sides' bytes. */
export const addWireBytes = (...all: WireBytes[]): WireBytes =>
  all.reduce((a, b) => ({ sent: a.sent + b.sent, received: a.received + b.received }), { sent: 0, received: 0 });

/** Bytes between two readings of the same counters (`after − before`). */
export const wireBytesSince = (before: WireBytes, after: WireBytes): WireBytes => ({
  sent: after.sent - before.sent,
  received: after.received - before.received,
});
