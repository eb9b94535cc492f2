/// <reference lib="dom" />
/**
 * A small SVG line chart for readings over time: one series, time on x, value on y, a dot per
 * reading (class `point`, with a `<title>`), min/max gridlines and labels. No library.
 *
 * @module
 */
import { formatTime } from "./common.js";

const SVG = "http://www.w3.org/2000/svg";

export interface ChartPoint {
  /** Unix seconds. */
  t: number;
  v: number;
  label?: string;
}

export interface ChartOptions {
  width?: number;
  height?: number;
  unit?: string;
  title?: string;
}

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** "Nice" value for an axis label. */
function tick(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/**
 * Draws `points` (sorted by time) into a new `<svg class="chart">`.
 *
 * @example
 * container.append(lineChart([{ t: 1700000000, v: 21.5 }, { t: 1700000060, v: 21.7 }], { unit: "°C" }));
 */
export function lineChart(points: readonly ChartPoint[], options: ChartOptions = {}): SVGSVGElement {
  const width = options.width ?? 760;
  const height = options.height ?? 260;
  const m = { top: 16, right: 16, bottom: 34, left: 56 };
  const root = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, width, height, role: "img" });
  root.setAttribute("aria-label", options.title ?? "readings over time");
  root.setAttribute("data-points", String(points.length));
  const plotW = width - m.left - m.right;
  const plotH = height - m.top - m.bottom;
  root.append(svg("rect", { class: "plot", x: m.left, y: m.top, width: plotW, height: plotH }));
  if (points.length === 0) {
    root.append(svg("text", { class: "empty", x: width / 2, y: height / 2, "text-anchor": "middle" }, "no readings in this range"));
    return root;
  }
  let tMin = Math.min(...points.map((p) => p.t));
  let tMax = Math.max(...points.map((p) => p.t));
  let vMin = Math.min(...points.map((p) => p.v));
  let vMax = Math.max(...points.map((p) => p.v));
  if (tMax === tMin) {
    tMin -= 30;
    tMax += 30;
  }
  if (vMax === vMin) {
    vMin -= 1;
    vMax += 1;
  }
  const pad = (vMax - vMin) * 0.08;
  vMin -= pad;
  vMax += pad;
  const x = (t: number) => m.left + ((t - tMin) / (tMax - tMin)) * plotW;
  const y = (v: number) => m.top + (1 - (v - vMin) / (vMax - vMin)) * plotH;

  // Gridlines and value labels (4 steps).
  for (let i = 0; i <= 4; i++) {
    const v = vMin + ((vMax - vMin) * i) / 4;
    root.append(svg("line", { class: "grid", x1: m.left, x2: m.left + plotW, y1: y(v), y2: y(v) }));
    root.append(svg("text", { class: "axis", x: m.left - 6, y: y(v) + 4, "text-anchor": "end" }, tick(v)));
  }
  // Time labels: start, middle, end.
  for (const [t, anchor] of [
    [tMin, "start"],
    [(tMin + tMax) / 2, "middle"],
    [tMax, "end"],
  ] as const) {
    root.append(svg("text", { class: "axis", x: x(t), y: height - 10, "text-anchor": anchor }, formatTime(Math.round(t)).slice(5)));
  }
  if (options.unit) root.append(svg("text", { class: "axis unit", x: 8, y: m.top + 4 }, options.unit));

  root.append(svg("polyline", { class: "line", points: points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" ") }));
  for (const p of points) {
    const dot = svg("circle", { class: "point", cx: x(p.t).toFixed(1), cy: y(p.v).toFixed(1), r: 3 });
    dot.append(svg("title", {}, `${p.label ?? ""}${formatTime(p.t)}: ${p.v}${options.unit ? ` ${options.unit}` : ""}`));
    root.append(dot);
  }
  return root;
}
