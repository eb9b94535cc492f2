/**
 * The web pages' assets: the static files of oracle/web/static and the browser bundles built with
 * esbuild (in memory, at start-up). No CDN: everything the pages load is served from here.
 *
 * The browser bundles import the core and the verifier's bundle check as they are; the few node
 * built-ins those reach are mapped to browser stand-ins (oracle/web/browser/shims): `node:crypto`
 * (random bytes, P-256 scalar multiplication on noble), `node:module` (no native addon: noble
 * path), `node:os` / `node:worker_threads` (unused), and a `Buffer` global.
 *
 * @module
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

import { build, type Plugin } from "esbuild";

const HERE = import.meta.dirname;
const SHIMS = path.join(HERE, "browser", "shims");

/** Browser entry points: served as /assets/<name>.js. */
export const BROWSER_ENTRIES = {
  dashboard: path.join(HERE, "browser", "dashboard.ts"),
  claim: path.join(HERE, "browser", "claim.ts"),
  market: path.join(HERE, "browser", "market.ts"),
} as const;

/** One served file. */
export interface Asset {
  contentType: string;
  body: Buffer;
}

const NODE_SHIMS: Record<string, string> = {
  "node:crypto": path.join(SHIMS, "crypto.ts"),
  crypto: path.join(SHIMS, "crypto.ts"),
  "node:module": path.join(SHIMS, "module.ts"),
  "node:os": path.join(SHIMS, "node-only.ts"),
  "node:worker_threads": path.join(SHIMS, "node-only.ts"),
};

/** esbuild plugin: node built-ins → browser stand-ins; any other node built-in is an error. */
export function browserShims(): Plugin {
  return {
    name: "sensorseal-browser-shims",
    setup(b) {
      b.onResolve({ filter: /^(node:)?[a-z_/]+$/ }, (args) => {
        const shim = NODE_SHIMS[args.path];
        if (shim !== undefined) return { path: shim };
        if (args.path.startsWith("node:"))
          return { errors: [{ text: `${args.path} has no browser stand-in (imported by ${args.importer})` }] };
        return undefined;
      });
    },
  };
}

/**
 * Bundles browser entry points (ESM, es2022 for the core's top-level await), in memory.
 *
 * @example
 * const files = await bundleBrowser({ dashboard: "oracle/web/browser/dashboard.ts" });
 * files.get("dashboard.js"); // the bundle's text
 */
export async function bundleBrowser(entries: Record<string, string>, options: { minify?: boolean } = {}): Promise<Map<string, string>> {
  const result = await build({
    entryPoints: entries,
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: "/assets",
    minify: options.minify ?? true,
    sourcemap: false,
    legalComments: "none",
    logLevel: "silent",
    inject: [path.join(SHIMS, "buffer.ts")],
    define: { "process.env.NODE_DEBUG": "false", global: "globalThis" },
    plugins: [browserShims()],
  });
  const files = new Map<string, string>();
  for (const file of result.outputFiles) files.set(path.basename(file.path), file.text);
  return files;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

/**
 * Every asset of the site by URL path: /, /claim, /claim.html, /market, /market.html, /style.css, /assets/*.js.
 *
 * @example
 * const assets = await buildAssets();
 * assets.get("/assets/claim.js")?.contentType; // "text/javascript; charset=utf-8"
 */
export async function buildAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  const staticDir = path.join(HERE, "static");
  for (const name of await readdir(staticDir)) {
    const type = TYPES[path.extname(name)];
    if (type === undefined) continue;
    assets.set(`/${name}`, { contentType: type, body: await readFile(path.join(staticDir, name)) });
  }
  const index = assets.get("/index.html");
  if (index !== undefined) assets.set("/", index);
  const claim = assets.get("/claim.html");
  if (claim !== undefined) assets.set("/claim", claim);
  const market = assets.get("/market.html");
  if (market !== undefined) assets.set("/market", market);
  for (const [name, text] of await bundleBrowser(BROWSER_ENTRIES)) {
    assets.set(`/assets/${name}`, { contentType: TYPES[".js"], body: Buffer.from(text) });
  }
  return assets;
}
