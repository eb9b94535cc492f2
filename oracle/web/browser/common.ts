/// <reference lib="dom" />
/**
 * Small helpers shared by the pages: the JSON API, DOM building, formatting.
 *
 * @module
 */

/** An API answer: the body on success, else the service's error shape. */
export type ApiAnswer<T> =
  { ok: true; status: number; body: T } | { ok: false; status: number; code: string; message: string; details?: Record<string, unknown> };

/**
 * Calls one of the web service's JSON routes (GET by default; `body` is sent as JSON); never throws
 * (a network failure is code NETWORK). Same-origin only, so the session cookie goes along.
 */
export async function api<T>(path: string, init: { method?: "GET" | "POST" | "DELETE"; body?: unknown } = {}): Promise<ApiAnswer<T>> {
  let res: Response;
  try {
    res = await fetch(path, {
      method: init.method ?? "GET",
      credentials: "same-origin",
      headers: { accept: "application/json", ...(init.body === undefined ? {} : { "content-type": "application/json" }) },
      ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    });
  } catch (error) {
    return { ok: false, status: 0, code: "NETWORK", message: `the web service does not answer (${String(error)})` };
  }
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- untyped JSON from another service, read field by field by the caller
  let body: any;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (res.ok) return { ok: true, status: res.status, body: body as T };
  return {
    ok: false,
    status: res.status,
    code: body?.error?.code ?? `HTTP_${res.status}`,
    message: body?.error?.message ?? `HTTP ${res.status}`,
    ...(body?.error?.details === undefined ? {} : { details: body.error.details }),
  };
}

type Child = Node | string | number | null | undefined | false;

/** Builds an element: `el("td", { class: "mono", title: x }, "text", child)`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | boolean | undefined> = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children)
    if (child !== null && child !== undefined && child !== false) node.append(typeof child === "object" ? child : String(child));
  return node;
}

/** `0x1234…abcd`. */
export function short(hex: string, head = 6, tail = 4): string {
  return hex.length <= head + tail + 1 ? hex : `${hex.slice(0, head)}…${hex.slice(-tail)}`;
}

/** Unix seconds as a local date and time, to the second. */
export function formatTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A token amount (base units) with at most `digits` decimals. */
export function formatAmount(value: bigint, decimals: number, digits = 4): string {
  const neg = value < 0n;
  const v = neg ? -value : value;
  const unit = 10n ** BigInt(decimals);
  const whole = v / unit;
  const frac = (v % unit).toString().padStart(decimals, "0").slice(0, digits).replace(/0+$/, "");
  const text = `${whole.toLocaleString("en-US")}${frac === "" ? "" : `.${frac}`}`;
  return neg ? `-${text}` : text;
}

/** Replaces a container's content with one notice (an error or a "not configured"). */
export function notice(container: Element, kind: "error" | "info" | "warn", text: string, code?: string): void {
  container.replaceChildren(el("p", { class: `notice ${kind}`, "data-code": code }, text));
}
