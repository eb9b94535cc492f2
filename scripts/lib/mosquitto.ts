/**
 * A real Mosquitto (Debian's /usr/sbin/mosquitto) on a port from the OS, with a password file made by
 * mosquitto_passwd and the ACL of docs/MQTT.md, for the MQTT tests and the bench's transport section.
 * No side effects on import.
 *
 * @module
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, connect as tcpConnect, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { mosquittoAcl, mqttPassword } from "../../oracle/transport/mqtt/credentials.js";

export const MOSQUITTO = "/usr/sbin/mosquitto";
export const hasMosquitto = existsSync(MOSQUITTO) && existsSync("/usr/bin/mosquitto_passwd");

/** A running Mosquitto that can be stopped and started again on the same port. */
export interface RunningMosquitto {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, "127.0.0.1");
    socket.once("connect", () => (socket.destroy(), resolve(true)));
    socket.once("error", () => resolve(false));
  });
}

/** Starts Mosquitto with users (devices and services) whose passwords derive from `secret`. */
export async function startMosquitto(secret: string, usernames: readonly string[]): Promise<RunningMosquitto> {
  const dir = await mkdtemp(path.join(tmpdir(), "sensorseal-mosquitto-"));
  // Mosquitto started as root drops to the `mosquitto` user: it must be able to read these files.
  await chmod(dir, 0o755);
  const port = await freePort();
  const passwords = path.join(dir, "passwd");
  await writeFile(passwords, "");
  for (const user of usernames) execFileSync("/usr/bin/mosquitto_passwd", ["-b", passwords, user, mqttPassword(secret, user)]);
  await writeFile(path.join(dir, "acl"), mosquittoAcl());
  await chmod(passwords, 0o644);
  await writeFile(
    path.join(dir, "mosquitto.conf"),
    [
      `listener ${port} 127.0.0.1`,
      "allow_anonymous false",
      `password_file ${passwords}`,
      `acl_file ${path.join(dir, "acl")}`,
      "persistence false",
      "max_packet_size 65536",
      "log_dest none",
      "",
    ].join("\n"),
  );
  let child: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    child = spawn(MOSQUITTO, ["-c", path.join(dir, "mosquitto.conf")], { stdio: "ignore" });
    const until = Date.now() + 10_000;
    while (!(await listening(port))) {
      if (Date.now() > until) throw new Error("mosquitto did not start");
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (c === undefined || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once("exit", () => resolve());
      c.kill("SIGKILL");
    });
  };
  await start();
  return {
    url: `mqtt://127.0.0.1:${port}`,
    port,
    start,
    stop,
    async close() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
