/// <reference lib="dom" />
/**
 * The dashboard: services, devices and their status, readings over time (SVG chart) with a
 * per-reading "verify" button, anchored batches, rewards per contributor.
 *
 * Devices, batches and rewards are public chain data. Values and proofs (raw payloads) are shown
 * only after signing in with one's own platform consumer API key (./session.ts); signed out, the
 * readings card shows a notice (`data-code="SIGNED_OUT"`) and no value, chart or verify button.
 *
 * "Verify" fetches the reading's portable proof bundle from the web service and checks it here, in
 * the browser, against the audit chain's RPC only: keccak256(payload) = dataHash, the leaf, the
 * Merkle proof, the device signature (oracle/core, the one implementation), then with viem the
 * anchored root, the anchoring tx, the registry key and status, and ReadingAnchor.verifyReading
 * (oracle/verifier/bundle.ts `checkBundleOnChain`). Nothing the web service says is trusted.
 *
 * @module
 */
import type { Address, Hex } from "viem";

import { parseBundle } from "../../core/bundle.js";
import { checkBundleOnChain } from "../../verifier/bundle.js";
import { lineChart, type ChartPoint } from "./chart.js";
import { api, el, formatAmount, formatTime, notice, short } from "./common.js";
import { refreshAuditorViews } from "./auditor-map.js";
import { sessionPanel, type SessionPanel } from "./session.js";

interface Config {
  audit: { rpcUrl: string; reachable: boolean; chainId?: number; anchor?: Address; registry?: Address; error?: string } | null;
  reward: { rpcUrl: string; chainId: number; distributor: Address; reachable: boolean; error?: string } | null;
  services: Record<"platform" | "relayer" | "oracle", { url: string } | null>;
}
interface Device {
  device: Address;
  scheme: string;
  status: string;
  beneficiary: Address;
  registeredAt: number | null;
}
interface Reading {
  seq: number;
  ts: number;
  dataHash: Hex;
  values: Record<string, number> | null;
}
interface Batch {
  batchId: number;
  root: Hex;
  leafCount: number;
  manifestHash: Hex;
  txHash: Hex;
  blockNumber: number;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const UNITS: Record<string, string> = { temperature_c: "°C", humidity_pct: "%", pm2_5_ugm3: "µg/m³", pm10_ugm3: "µg/m³" };

let config: Config | undefined;
let devices: Device[] = [];
let readings: Reading[] = [];
let selected: Address | undefined;
let session: SessionPanel;

function pill(name: string, state: "ok" | "down" | "off", text: string): HTMLElement {
  return el("li", { class: `pill ${state}`, "data-service": name, "data-state": state, title: text }, el("b", {}, name), " ", text);
}

async function renderServices(): Promise<void> {
  const list = $("services");
  const answer = await api<Config>("/api/config");
  if (!answer.ok) return notice(list, "error", `web service: ${answer.message}`, answer.code);
  config = answer.body;
  const items: HTMLElement[] = [];
  const a = config.audit;
  items.push(
    a === null
      ? pill("audit chain", "off", "not configured")
      : a.reachable
        ? pill("audit chain", "ok", `chain ${a.chainId}`)
        : pill("audit chain", "down", "not reachable"),
  );
  for (const name of ["platform", "relayer", "oracle"] as const) {
    const s = config.services[name];
    items.push(s === null ? pill(name, "off", "not configured") : pill(name, "ok", "configured"));
  }
  const r = config.reward;
  items.push(
    r === null
      ? pill("reward chain", "off", "not configured")
      : r.reachable
        ? pill("reward chain", "ok", `chain ${r.chainId}`)
        : pill("reward chain", "down", "not reachable"),
  );
  list.replaceChildren(...items);
}

async function renderDevices(): Promise<void> {
  const body = $("devices");
  const answer = await api<{ devices: Device[] }>("/api/devices");
  if (!answer.ok) return notice(body, "error", `Devices unavailable: ${answer.message}`, answer.code);
  devices = answer.body.devices;
  if (devices.length === 0) return notice(body, "info", "No device registered yet.");
  const rows = devices.map((d) => {
    const row = el(
      "tr",
      { "data-device": d.device, class: d.device === selected ? "selected" : undefined },
      el("td", { class: "mono", title: d.device }, short(d.device, 10, 6)),
      el("td", {}, d.scheme),
      el("td", {}, el("span", { class: `status ${d.status}`, "data-status": d.status }, d.status)),
      el("td", { class: "mono", title: d.beneficiary }, short(d.beneficiary)),
      el("td", {}, d.registeredAt === null ? "—" : formatTime(d.registeredAt)),
    );
    row.addEventListener("click", () => void select(d.device));
    return row;
  });
  body.replaceChildren(tableOf(["device", "key", "status", "beneficiary", "registered"], rows));
  const picker = $<HTMLSelectElement>("device");
  picker.replaceChildren(
    ...devices.map((d) => el("option", { value: d.device, selected: d.device === selected }, `${short(d.device, 10, 6)} (${d.status})`)),
  );
  if (selected === undefined && devices.length > 0) await select(devices[0].device);
}

function chartField(): string {
  return $<HTMLSelectElement>("field").value;
}

function drawChart(): void {
  const field = chartField();
  const points: ChartPoint[] = readings
    .filter((r) => typeof r.values?.[field] === "number")
    .map((r) => ({ t: r.ts, v: r.values![field], label: `#${r.seq} ` }));
  const chart = lineChart(points, { unit: UNITS[field] ?? "", title: `${field} of ${selected}` });
  $("chart").replaceChildren(chart);
}

async function select(device: Address): Promise<void> {
  selected = device;
  for (const row of Array.from(document.querySelectorAll<HTMLElement>("#devices tr[data-device]")))
    row.classList.toggle("selected", row.dataset.device === device);
  $<HTMLSelectElement>("device").value = device;
  await loadReadings();
}

function rangeQuery(): string {
  const q = new URLSearchParams();
  for (const name of ["from", "to"] as const) {
    const value = $<HTMLInputElement>(name).value;
    if (value !== "") q.set(name, String(Math.floor(new Date(value).getTime() / 1000)));
  }
  const text = q.toString();
  return text === "" ? "" : `?${text}`;
}

/** Signed out: no values, chart or verify button, only why. */
function showSignedOut(): void {
  readings = [];
  $("chart").replaceChildren();
  $("range").hidden = true;
  notice($("readings"), "info", "Sign in with your platform consumer API key to see values and verify readings.", "SIGNED_OUT");
}

async function loadReadings(): Promise<void> {
  if (!session.signedIn) return showSignedOut();
  $("range").hidden = false;
  if (selected === undefined) return;
  const table = $("readings");
  const answer = await api<{ fields: string[]; readings: Reading[]; truncated: boolean }>(
    `/api/devices/${selected}/readings${rangeQuery()}`,
  );
  if (!answer.ok && answer.status === 401) {
    session.ended();
    return showSignedOut();
  }
  if (!answer.ok) {
    readings = [];
    $("chart").replaceChildren();
    return notice(table, "error", `Readings unavailable: ${answer.message}`, answer.code);
  }
  readings = answer.body.readings;
  const fields = answer.body.fields.length > 0 ? answer.body.fields : ["temperature_c"];
  const picker = $<HTMLSelectElement>("field");
  const current = picker.value;
  picker.replaceChildren(
    ...fields.map((f) =>
      el(
        "option",
        { value: f, selected: f === (fields.includes(current) ? current : fields.includes("temperature_c") ? "temperature_c" : fields[0]) },
        f,
      ),
    ),
  );
  drawChart();
  if (readings.length === 0) return notice(table, "info", "No readings in this range.");
  const rows = [...readings].reverse().map((r) => {
    const state = el("td", { class: "verification", "data-status": "UNCHECKED" }, "not checked");
    const button = el("button", { type: "button", class: "verify", "data-seq": String(r.seq) }, "verify");
    button.addEventListener("click", () => void verify(r, state, button));
    const values =
      r.values === null
        ? "unparsable payload"
        : Object.entries(r.values)
            .map(([k, v]) => `${k.replace(/_(c|pct|ugm3)$/, "")} ${v}`)
            .join(" · ");
    return el(
      "tr",
      { "data-seq": String(r.seq) },
      el("td", {}, `#${r.seq}`),
      el("td", {}, formatTime(r.ts)),
      el("td", { class: "values" }, values),
      el("td", { class: "mono", title: r.dataHash }, short(r.dataHash)),
      state,
      el("td", {}, button),
    );
  });
  table.replaceChildren(
    tableOf(["seq", "time", "values", "dataHash", "verification", ""], rows),
    answer.body.truncated ? el("p", { class: "small" }, "Only the first readings of this range are shown: narrow the range.") : "",
  );
}

async function verify(r: Reading, cell: HTMLElement, button: HTMLButtonElement): Promise<void> {
  if (selected === undefined) return;
  const device = selected;
  button.disabled = true;
  cell.dataset.status = "CHECKING";
  cell.textContent = "checking…";
  cell.title = "";
  try {
    const rpc = config?.audit?.rpcUrl;
    if (rpc === undefined) throw new Error("the audit chain is not configured");
    const answer = await api<{ bundle: unknown }>(`/api/readings/${device}/${r.seq}/bundle`);
    if (!answer.ok && answer.status === 401) {
      session.ended();
      return showSignedOut();
    }
    if (!answer.ok) {
      const status = answer.status === 404 ? answer.code : "UNAVAILABLE";
      cell.dataset.status = status;
      cell.textContent = status;
      cell.title = answer.message;
      return;
    }
    const bundle = parseBundle(JSON.stringify(answer.body.bundle));
    const verdict = await checkBundleOnChain(bundle, rpc);
    cell.dataset.status = verdict.status;
    cell.textContent = verdict.status;
    const failed = verdict.checks.filter((c) => !c.ok);
    cell.title =
      failed.length === 0
        ? `checked in this browser against ${rpc}: ${verdict.checks.map((c) => c.name).join(", ")} (batch ${bundle.batchId}, tx ${bundle.tx})`
        : failed.map((c) => `${c.name}: ${c.message}`).join("\n");
  } catch (error) {
    cell.dataset.status = "ERROR";
    cell.textContent = "error";
    cell.title = String((error as Error)?.message ?? error);
  } finally {
    button.disabled = false;
  }
}

async function renderBatches(): Promise<void> {
  const body = $("batches");
  const answer = await api<{ batches: Batch[]; total: number; submissions?: Submission[]; submissionsTotal?: number }>("/api/batches");
  if (!answer.ok) return notice(body, "error", `Batches unavailable: ${answer.message}`, answer.code);
  const list = answer.body.batches;
  renderSubmissions(answer.body.submissions ?? [], answer.body.submissionsTotal ?? 0);
  if (list.length === 0) return notice(body, "info", "No batch anchored yet.");
  body.replaceChildren(
    el(
      "table",
      {},
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", {}, "batch"),
          el("th", {}, "readings"),
          el("th", {}, "root"),
          el("th", {}, "anchoring tx"),
          el("th", {}, "block"),
        ),
      ),
      el(
        "tbody",
        {},
        ...list.map((b) =>
          el(
            "tr",
            { "data-batch": String(b.batchId) },
            el("td", {}, `#${b.batchId}`),
            el("td", {}, b.leafCount),
            el("td", { class: "mono", title: b.root }, short(b.root, 10, 6)),
            el("td", { class: "mono tx", title: b.txHash, "data-tx": b.txHash }, short(b.txHash, 10, 6)),
            el("td", {}, b.blockNumber),
          ),
        ),
      ),
    ),
  );
}

async function renderRewards(): Promise<void> {
  const body = $("rewards");
  const answer = await api<{
    oracle: { error?: { message: string } };
    distributor: {
      error?: { message: string };
      token?: { symbol: string; decimals: number };
      totalPosted?: string;
      totalClaimed?: string;
      lastEpoch?: string;
    };
    rewards: { account: Address; cumulative: string; claimed: string | null }[];
  }>("/api/rewards");
  if (!answer.ok) return notice(body, "error", `Rewards unavailable: ${answer.message}`, answer.code);
  const { oracle, distributor, rewards } = answer.body;
  const decimals = distributor.token?.decimals ?? 18;
  const sym = distributor.token?.symbol ?? "";
  const parts: (HTMLElement | string)[] = [];
  if (oracle.error) parts.push(el("p", { class: "notice error", "data-code": "ORACLE" }, `Oracle: ${oracle.error.message}`));
  if (distributor.error)
    parts.push(el("p", { class: "notice error", "data-code": "REWARD_CHAIN" }, `Reward chain: ${distributor.error.message}`));
  else
    parts.push(
      el(
        "p",
        { class: "small" },
        `Epoch ${distributor.lastEpoch} · posted ${formatAmount(BigInt(distributor.totalPosted ?? "0"), decimals)} ${sym} · claimed ${formatAmount(BigInt(distributor.totalClaimed ?? "0"), decimals)} ${sym}`,
      ),
    );
  if (rewards.length > 0)
    parts.push(
      el(
        "table",
        {},
        el(
          "thead",
          {},
          el("tr", {}, el("th", {}, "contributor"), el("th", {}, "earned"), el("th", {}, "claimed"), el("th", {}, "unclaimed")),
        ),
        el(
          "tbody",
          {},
          ...rewards.map((r) => {
            const claimed = r.claimed === null ? undefined : BigInt(r.claimed);
            return el(
              "tr",
              { "data-account": r.account },
              el("td", { class: "mono", title: r.account }, short(r.account, 10, 6)),
              el("td", {}, `${formatAmount(BigInt(r.cumulative), decimals)} ${sym}`),
              el("td", {}, claimed === undefined ? "?" : `${formatAmount(claimed, decimals)} ${sym}`),
              el("td", {}, claimed === undefined ? "?" : `${formatAmount(BigInt(r.cumulative) - claimed, decimals)} ${sym}`),
            );
          }),
        ),
      ),
    );
  else if (!oracle.error) parts.push(el("p", { class: "notice info" }, "No rewards computed yet."));
  body.replaceChildren(...parts);
}

async function main(): Promise<void> {
  session = sessionPanel((signedIn) => {
    void loadReadings();
    void refreshAuditorViews(signedIn);
  });
  await renderServices();
  await session.refresh();
  $("device").addEventListener("change", (e) => void select((e.target as HTMLSelectElement).value as Address));
  $("field").addEventListener("change", () => drawChart());
  $("range").addEventListener("submit", (e) => {
    e.preventDefault();
    void loadReadings();
  });
  $("aqi-standard").addEventListener("change", () => void refreshAuditorViews(session.signedIn));
  const auditor = () => refreshAuditorViews(session.signedIn);
  $("refresh").addEventListener("click", () => void Promise.all([renderDevices(), renderBatches(), renderRewards(), auditor()]));
  await Promise.all([renderDevices(), renderBatches(), renderRewards(), auditor()]);
  document.body.dataset.ready = "true";
}

void main();

/** A table with one header row over `rows`. */
/** A reading submitted directly on-chain (`ReadingSubmitted`: the censorship escape), listed beside the batches. */
interface Submission {
  device: string;
  seq: number;
  timestamp: number;
  dataHash: string;
  txHash: string;
  blockNumber: number;
}

/** Direct submissions count like anchored readings (TRUST-MODEL §5), so the dashboard lists them too. */
function renderSubmissions(list: readonly Submission[], total: number): void {
  const body = $("submissions");
  if (list.length === 0) return notice(body, "info", "No reading submitted directly on-chain.");
  const rows = list.map((s) =>
    el(
      "tr",
      { "data-device": s.device, "data-seq": String(s.seq) },
      el("td", { class: "mono", title: s.device }, short(s.device, 8, 4)),
      el("td", {}, s.seq),
      el("td", {}, new Date(s.timestamp * 1000).toISOString()),
      el("td", { class: "mono", title: s.dataHash }, short(s.dataHash, 10, 6)),
      el("td", { class: "mono tx", title: s.txHash, "data-tx": s.txHash }, short(s.txHash, 10, 6)),
      el("td", {}, s.blockNumber),
    ),
  );
  body.replaceChildren(
    el("p", {}, `${total} direct submission(s); newest first.`),
    tableOf(["device", "seq", "time", "dataHash", "tx", "block"], rows),
  );
}

function tableOf(headers: readonly string[], rows: HTMLElement[]): HTMLElement {
  return el("table", {}, el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", {}, h)))), el("tbody", {}, ...rows));
}
