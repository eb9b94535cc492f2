// Test helper (no side effects on import): a fresh npm project outside the repository that installs
// packed tarballs without the registry. npm cannot resolve a version range offline (it would need
// the registry's package documents), so the project gets a package-lock.json whose registry
// entries are copied from the repository's lock: `npm ci --offline` then takes every tarball from
// the npm cache by its integrity, as the repository's own install put them there.
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

type LockEntry = {
  version?: string;
  resolved?: string;
  integrity?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
};
type Lock = { packages: Record<string, LockEntry> };

/** A packed package: its manifest and tarball. */
export type PackedPackage = {
  name: string;
  version: string;
  tarball: string;
  integrity: string;
  manifest: {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
    engines?: Record<string, string>;
  };
};

/**
 * `npm pack` of a package folder into `dest`.
 *
 * @example
 * const core = await npmPack("oracle/core", "/tmp/x");
 */
export async function npmPack(folder: string, dest: string): Promise<PackedPackage> {
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: folder });
  const [info] = JSON.parse(stdout) as { name: string; version: string; filename: string; integrity: string }[];
  const manifest = JSON.parse(readFileSync(path.join(folder, "package.json"), "utf8")) as PackedPackage["manifest"];
  return { name: info!.name, version: info!.version, tarball: path.join(dest, info!.filename), integrity: info!.integrity, manifest };
}

/** Where node would find `name` from the lock entry at `from` (its own node_modules, then up). */
function resolveIn(lock: Lock, from: string, name: string): string | undefined {
  let base = from;
  for (;;) {
    const key = `${base === "" ? "" : `${base}/`}node_modules/${name}`;
    if (lock.packages[key] !== undefined) return key;
    if (base === "") return undefined;
    const cut = base.lastIndexOf("node_modules/");
    base = cut <= 0 ? "" : base.slice(0, cut - 1);
  }
}

/** The registry part of the lock: `roots` and everything they need, at the same places as in `lock`. */
function registrySubtree(lock: Lock, roots: readonly string[]): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {};
  const visit = (from: string, name: string) => {
    const key = resolveIn(lock, from, name);
    if (key === undefined || out[key] !== undefined) return;
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = lock.packages[key]!;
    out[key] = entry;
    const optionalPeers = new Set(Object.keys(entry.peerDependenciesMeta ?? {}).filter((p) => entry.peerDependenciesMeta![p]!.optional));
    const deps = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})];
    deps.push(...Object.keys(entry.peerDependencies ?? {}).filter((p) => !optionalPeers.has(p)));
    for (const dep of deps) visit(key, dep);
  };
  for (const root of roots) visit("", root);
  return out;
}

/**
 * Writes package.json and package-lock.json of a project in `dir` that depends on the packed
 * packages, then `npm ci --offline` there.
 *
 * @example
 * await installOffline("/tmp/app", [core, device], "/repo/package-lock.json");
 */
export async function installOffline(dir: string, packed: readonly PackedPackage[], repoLockFile: string): Promise<void> {
  const lock = JSON.parse(readFileSync(repoLockFile, "utf8")) as Lock;
  const ours = new Set(packed.map((p) => p.name));
  const registryRoots = [...new Set(packed.flatMap((p) => Object.keys(p.manifest.dependencies ?? {})).filter((d) => !ours.has(d)))];
  const dependencies = Object.fromEntries(packed.map((p) => [p.name, `file:${path.relative(dir, p.tarball)}`]));
  const packages: Record<string, unknown> = {
    "": { name: "sensorseal-pack-check", version: "0.0.0", dependencies },
    ...registrySubtree(lock, registryRoots),
  };
  for (const p of packed) {
    packages[`node_modules/${p.name}`] = {
      version: p.version,
      resolved: `file:${path.relative(dir, p.tarball)}`,
      integrity: p.integrity,
      license: "MIT",
      ...(p.manifest.dependencies ? { dependencies: p.manifest.dependencies } : {}),
      ...(p.manifest.peerDependencies ? { peerDependencies: p.manifest.peerDependencies } : {}),
      ...(p.manifest.peerDependenciesMeta ? { peerDependenciesMeta: p.manifest.peerDependenciesMeta } : {}),
      ...(p.manifest.engines ? { engines: p.manifest.engines } : {}),
    };
  }
  const pkg = { name: "sensorseal-pack-check", version: "0.0.0", private: true, type: "module", dependencies };
  writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(
    path.join(dir, "package-lock.json"),
    `${JSON.stringify({ name: pkg.name, version: "0.0.0", lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
  await run("npm", ["ci", "--offline", "--ignore-scripts", "--no-audit", "--no-fund"], { cwd: dir });
}
