/**
 * The bench's HTTP floor: a bare node:http server that reads a JSON reading and answers 202 with a
 * receipt-shaped JSON of a relayer's size, and does nothing else (no checks, no signatures, no store).
 * What Node's HTTP costs per request on this machine; the relayer's single-reading figure is stated
 * against it (scripts/lib/bench/http-floor.ts). Not a service: the bench starts it as a child process.
 *
 * @module
 */
import http from "node:http";

const signer = `0x${"ab".repeat(20)}`;
const signature = `0x${"cd".repeat(65)}`;

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const { device, seq, dataHash, timestamp } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, string>;
    const body = JSON.stringify({
      status: "queued",
      duplicate: false,
      receipt: { device, seq: String(seq), dataHash, deadline: String(Number(timestamp) + 600), signature, signer },
    });
    res.writeHead(202, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  console.log(JSON.stringify({ msg: "http floor listening", url: `http://127.0.0.1:${port}` }));
});
process.once("SIGTERM", () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
