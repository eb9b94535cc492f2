/// <reference lib="dom" />
/**
 * The auditor's findings on the dashboard: an alert banner (counts for everyone, the latest alerts
 * for signed-in consumers) and a map drawn from the data alone (SVG, no tiles: there is no internet):
 * grid cells coloured by their latest hourly AQI, each device at its coordinates coloured by the AQI
 * of its latest verified reading and ringed by its verification health.
 *
 * @module
 */
import { api, el, formatTime, notice, short } from "./common.js";

type Standard = "china" | "us";
interface Aqi {
  aqi: number;
  category: string;
}
interface MapDevice {
  device: string;
  ts: number;
  seq: number;
  pm25: number | null;
  pm10: number | null;
  lat: number | null;
  lon: number | null;
  bad: number;
  total: number;
  health: "ok" | "problems";
  aqi: Record<Standard, Aqi | null>;
}
interface MapCell {
  cell: string;
  bucket: number;
  n: number;
  pm25: number | null;
  pm10: number | null;
  aqi: Record<Standard, Aqi | null>;
}
interface MapAnswer {
  devices: MapDevice[];
  grid: number;
  cells: MapCell[];
}
interface Alert {
  id: number;
  kind: string;
  device: string | null;
  seq: number | null;
  message: string;
  raisedAt?: number | string;
}
interface AuditorStatus {
  stale: boolean;
  verifiedPercent: number | null;
  alerts: { total: number };
}

/** The AQI band colours (the same six bands in HJ 633-2012 and the US EPA AQI). */
const BANDS = [
  { max: 50, color: "#00e400", label: "0–50" },
  { max: 100, color: "#ffff00", label: "51–100" },
  { max: 150, color: "#ff7e00", label: "101–150" },
  { max: 200, color: "#ff0000", label: "151–200" },
  { max: 300, color: "#8f3f97", label: "201–300" },
  { max: Infinity, color: "#7e0023", label: "> 300" },
];
const colorOf = (a: Aqi | null) => (a === null ? "#9e9e9e" : BANDS.find((b) => a.aqi <= b.max)!.color);

const SVG = "http://www.w3.org/2000/svg";
function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  node.append(...children);
  return node;
}

/** The banner: hidden without alerts; the count for everyone, the latest alerts when signed in. */
export function renderAlertBanner(banner: HTMLElement, status: AuditorStatus | undefined, alerts: Alert[] | undefined): void {
  const total = status?.alerts.total ?? alerts?.length ?? 0;
  banner.hidden = total === 0 && status?.stale !== true;
  banner.dataset.alerts = String(total);
  const parts: (HTMLElement | string)[] = [];
  if (total > 0) parts.push(el("strong", {}, `${total} auditor alert${total === 1 ? "" : "s"}`));
  if (status?.stale === true) parts.push(el("span", { "data-stale": "true" }, " The auditor's view is stale (see its /v1/status)."));
  if (alerts === undefined && total > 0) parts.push(" — sign in to see them.");
  if (alerts !== undefined && alerts.length > 0)
    parts.push(
      el(
        "ul",
        {},
        ...alerts
          .slice(0, 5)
          .map((a) =>
            el(
              "li",
              { "data-kind": a.kind },
              el("span", { class: "kind" }, a.kind),
              " ",
              a.device === null ? "" : `${short(a.device)} `,
              a.message,
            ),
          ),
      ),
    );
  banner.replaceChildren(...parts);
}

/** Equirectangular projection of the data's bounding box (longitudes shrunk by cos(latitude)). */
function projection(points: { lat: number; lon: number }[], width: number, height: number, pad: number) {
  const lats = points.map((p) => p.lat);
  const lons = points.map((p) => p.lon);
  let [minLat, maxLat, minLon, maxLon] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180) || 1;
  const span = Math.max(maxLat - minLat || 0.01, (maxLon - minLon || 0.01) * k);
  [minLat, maxLat] = [(minLat + maxLat) / 2 - span / 2, (minLat + maxLat) / 2 + span / 2];
  [minLon, maxLon] = [(minLon + maxLon) / 2 - span / (2 * k), (minLon + maxLon) / 2 + span / (2 * k)];
  const scale = Math.min(width - 2 * pad, height - 2 * pad) / span;
  const ox = (width - span * scale) / 2;
  const oy = (height - span * scale) / 2;
  return (lat: number, lon: number) => ({ x: ox + (lon - minLon) * k * scale, y: oy + (maxLat - lat) * scale });
}

/** Draws the map into `box` for `standard`. */
export function renderAqiMap(box: HTMLElement, map: MapAnswer, standard: Standard): void {
  const placed = map.devices.filter((d) => d.lat !== null && d.lon !== null);
  const cells = map.cells.map((c) => {
    const [i, j] = c.cell.split(":").map(Number);
    return { ...c, lat0: i * map.grid, lon0: j * map.grid };
  });
  if (placed.length === 0 && cells.length === 0) {
    notice(box, "info", "No verified reading with a location yet.", "NO_LOCATIONS");
    return;
  }
  const width = 720;
  const height = 420;
  const project = projection(
    [
      ...placed.map((d) => ({ lat: d.lat!, lon: d.lon! })),
      ...cells.flatMap((c) => [
        { lat: c.lat0, lon: c.lon0 },
        { lat: c.lat0 + map.grid, lon: c.lon0 + map.grid },
      ]),
    ],
    width,
    height,
    24,
  );
  const root = svg("svg", {
    class: "aqi-map",
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "data-devices": placed.length,
    "data-cells": cells.length,
  });
  root.append(svg("rect", { x: 0, y: 0, width, height, fill: "#f4f6f8" }));
  for (const c of cells) {
    const a = project(c.lat0 + map.grid, c.lon0);
    const b = project(c.lat0, c.lon0 + map.grid);
    const aqi = c.aqi[standard];
    root.append(
      svg(
        "rect",
        {
          class: "cell",
          "data-cell": c.cell,
          x: a.x,
          y: a.y,
          width: b.x - a.x,
          height: b.y - a.y,
          fill: colorOf(aqi),
          "fill-opacity": 0.35,
          stroke: "#b0bec5",
        },
        svg(
          "title",
          {},
          `cell ${c.cell}: AQI ${aqi?.aqi ?? "—"} (${aqi?.category ?? "no PM data"}), ${c.n} readings in the hour from ${formatTime(c.bucket)}`,
        ),
      ),
    );
  }
  for (const d of placed) {
    const { x, y } = project(d.lat!, d.lon!);
    const aqi = d.aqi[standard];
    const problems = d.health !== "ok";
    root.append(
      svg(
        "circle",
        {
          class: "device",
          "data-device": d.device,
          "data-health": d.health,
          "data-aqi": aqi?.aqi ?? "",
          cx: x,
          cy: y,
          r: 8,
          fill: colorOf(aqi),
          stroke: problems ? "#d50000" : "#263238",
          "stroke-width": problems ? 3 : 1.5,
          ...(problems ? { "stroke-dasharray": "3 2" } : {}),
        },
        svg(
          "title",
          {},
          `${d.device} #${d.seq} at ${formatTime(d.ts)}: AQI ${aqi?.aqi ?? "—"} (${aqi?.category ?? "no PM data"}); ${d.bad} of ${d.total} readings not verified`,
        ),
      ),
    );
  }
  box.replaceChildren(root, legend());
}

/** The AQI bands and the health ring, under the map. */
function legend(): HTMLElement {
  return el(
    "p",
    { class: "legend small" },
    ...BANDS.map((b, i) => el("span", { class: "swatch", style: `background:${b.color};color:${i >= 3 ? "#fff" : "#000"}` }, b.label)),
    el("span", { class: "swatch problems" }, "red ring: verification problems"),
  );
}

/** Fetches the auditor's status, alerts and map, and draws the banner and the map. */
export async function refreshAuditorViews(signedIn: boolean): Promise<void> {
  const banner = document.getElementById("alert-banner")!;
  const box = document.getElementById("aqi-map")!;
  const standard = ((document.getElementById("aqi-standard") as HTMLSelectElement | null)?.value ?? "china") as Standard;
  const status = await api<AuditorStatus>("/api/auditor/status");
  if (!status.ok) {
    banner.hidden = true;
    notice(box, status.code === "NOT_CONFIGURED" ? "info" : "error", `auditor: ${status.message}`, status.code);
    return;
  }
  const alerts = signedIn ? await api<{ alerts: Alert[] }>("/api/auditor/alerts") : undefined;
  renderAlertBanner(banner, status.body, alerts?.ok ? alerts.body.alerts : undefined);
  if (!signedIn) {
    notice(box, "info", "Sign in to see the map of verified readings.", "SIGNED_OUT");
    return;
  }
  const map = await api<MapAnswer>("/api/auditor/map");
  if (!map.ok) notice(box, "error", `auditor: ${map.message}`, map.code);
  else renderAqiMap(box, map.body, standard);
}
