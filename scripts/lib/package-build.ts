/**
 * Builds the installable packages (@sensorseal/core, @sensorseal/device, @sensorseal/verifier) in
 * place: each of oracle/core, oracle/device and oracle/verifier holds its package.json and gets a
 * dist/ of JavaScript and declarations, compiled from the same sources the repository runs.
 *
 * One source of truth: the device SDK and the verifier import the core by relative paths
 * (`../core/x.js`), and the build rewrites those to the core package (`@sensorseal/core/x.js`)
 * instead of copying the core into each package. The few chain modules they share (ABIs, the
 * anchor log, the registry index) ship in the core package under `@sensorseal/core/chain/…`.
 *
 * @module
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import ts from "typescript";

/** The repository root (this file is scripts/lib/package-build.ts). */
export const REPO_ROOT = path.resolve(import.meta.dirname, "..", "..");

/** The packages, by folder under oracle/. */
export const PACKAGES = ["core", "device", "verifier"] as const;
export type PackageFolder = (typeof PACKAGES)[number];

/** Folders under oracle/ the packages' sources may reach; anything else is a build error. */
const ALLOWED_FOLDERS = new Set(["core", "chain", "device", "verifier"]);

const CROSS_PACKAGE = /(["'])\.\.\/(core|chain)\/([\w./-]+?)\1/g;
const OTHER_PARENT = /(?:from |import\()["']\.\.\//;

/** Why a package build failed (compile errors, an import that leaves the packages). */
export class PackageBuildError extends Error {
  override readonly name = "PackageBuildError";
}

function sourceFiles(folder: string): string[] {
  const dir = path.join(REPO_ROOT, "oracle", folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => path.join(dir, f));
}

function compile(outDir: string): void {
  const configFile = ts.readConfigFile(path.join(REPO_ROOT, "tsconfig.json"), (f) => ts.sys.readFile(f));
  const parsed = ts.parseJsonConfigFileContent(configFile.config, ts.sys, REPO_ROOT);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: false,
    declaration: true,
    allowImportingTsExtensions: false,
    // `npm test` type-checks the whole tree already (tsc --noEmit); here only emit.
    noCheck: true,
    outDir,
    rootDir: path.join(REPO_ROOT, "oracle"),
  };
  const program = ts.createProgram(
    PACKAGES.flatMap((p) => sourceFiles(p)),
    options,
  );
  const result = program.emit();
  const errors = [...program.getOptionsDiagnostics(), ...program.getSyntacticDiagnostics(), ...result.diagnostics].filter(
    (d) => d.category === ts.DiagnosticCategory.Error,
  );
  if (errors.length > 0) {
    throw new PackageBuildError(
      ts.formatDiagnostics(errors, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => REPO_ROOT, getNewLine: () => "\n" }),
    );
  }
  for (const folder of readdirSync(outDir)) {
    if (!ALLOWED_FOLDERS.has(folder)) throw new PackageBuildError(`packaged sources import oracle/${folder}, which no package ships`);
  }
}

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

/** Rewrites `../core/x.js` → `@sensorseal/core/x.js` and `../chain/x.js` → `@sensorseal/core/chain/x.js`. */
export function rewriteCoreImports(text: string, file: string): string {
  const out = text.replace(CROSS_PACKAGE, (_m, q: string, folder: string, rest: string) =>
    folder === "core" ? `${q}@sensorseal/core/${rest}${q}` : `${q}@sensorseal/core/chain/${rest}${q}`,
  );
  for (const line of out.split("\n")) {
    if (OTHER_PARENT.test(line) && !line.trimStart().startsWith("*")) {
      throw new PackageBuildError(`${file}: an import leaves its package: ${line.trim()}`);
    }
  }
  return out;
}

/**
 * Compiles the packaged sources once and lays out each package's dist/ (replacing the old one).
 * Answers the package folders built.
 */
export function buildPackages(): string[] {
  const staging = mkdtempSync(path.join(tmpdir(), "sensorseal-pkg-"));
  try {
    compile(staging);
    const built: string[] = [];
    for (const pkg of PACKAGES) {
      const pkgDir = path.join(REPO_ROOT, "oracle", pkg);
      const dist = path.join(pkgDir, "dist");
      rmSync(dist, { recursive: true, force: true });
      if (pkg === "core") {
        cpSync(path.join(staging, "core"), path.join(dist, "core"), { recursive: true });
        if (existsSync(path.join(staging, "chain"))) cpSync(path.join(staging, "chain"), path.join(dist, "chain"), { recursive: true });
      } else {
        cpSync(path.join(staging, pkg), dist, { recursive: true });
        for (const file of walk(dist)) writeFileSync(file, rewriteCoreImports(readFileSync(file, "utf8"), file));
      }
      built.push(pkgDir);
    }
    return built;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
