/**
 * Runs every `@example` of a folder's JSDoc, so the examples stay runnable. Each example sees its
 * own module's exports; its `import { … } from "…"` lines are honoured. Exports only.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";

import ts from "typescript";

const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<unknown>;

type Example = { name: string; code: string };

function examplesOf(source: string): Example[] {
  const out: Example[] = [];
  for (const m of source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*([^\n]*)/g)) {
    const body = m[1]!
      .split("\n")
      .map((line) => line.replace(/^\s*\* ?/, ""))
      .join("\n");
    const declaration = m[2]!
      .trim()
      .replace(/^export\s+/, "")
      .replace(/[({=:<].*$/, "")
      .trim();
    for (const ex of body.matchAll(/@example\s*\n```ts\n([\s\S]*?)```/g)) out.push({ name: declaration, code: ex[1]! });
  }
  return out;
}

const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)";?\s*$/;

async function runExample(dir: URL, module: string, code: string): Promise<void> {
  const self = (await import(new URL(`${module}.js`, dir).href)) as Record<string, unknown>;
  const mods: unknown[] = [];
  const lines: string[] = [];
  for (const line of code.split("\n")) {
    const m = IMPORT.exec(line);
    if (m === null) {
      lines.push(line);
      continue;
    }
    if (m[1] !== undefined) continue; // import type
    const names = m[2]!
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "" && !n.startsWith("type "))
      .map((n) => n.replace(/\s+as\s+/, ": "));
    const spec = m[3]!.startsWith(".") ? new URL(m[3]!, dir).href : m[3]!;
    mods.push(await import(spec));
    lines.push(`const { ${names.join(", ")} } = __mods[${mods.length - 1}];`);
  }
  const js = ts.transpileModule(lines.join("\n"), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const selfNames = Object.keys(self).filter((k) => k !== "default");
  // Names the example imports itself shadow the module's own in an inner block.
  await new AsyncFunction("__self", "__mods", `const { ${selfNames.join(", ")} } = __self;\n{\n${js}\n}`)(self, mods);
}

/**
 * Declares one test per module of `dir`: every exported function (and, with `classes`, every
 * exported class but typed errors) has an `@example`, and every example runs. Examples that write
 * files get a TMPDIR removed afterwards.
 *
 * @example describeDocExamples("oracle/core", new URL("../../oracle/core/", import.meta.url), ["bytes", "keccak"]);
 */
export function describeDocExamples(title: string, dir: URL, modules: readonly string[], { classes = false } = {}): void {
  describe(`JSDoc @example blocks of ${title}`, () => {
    const savedTmp = process.env.TMPDIR;
    let sandbox: string;
    before(() => {
      sandbox = mkdtempSync(path.join(tmpdir(), "sensorseal-doc-examples-"));
      process.env.TMPDIR = sandbox;
    });
    after(() => {
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      rmSync(sandbox, { recursive: true, force: true });
    });

    for (const module of modules) {
      const source = readFileSync(new URL(`${module}.ts`, dir), "utf8");
      const examples = examplesOf(source);
      it(`${module}.ts: every exported function${classes ? " and class" : ""} has an example, and all ${examples.length} run`, async () => {
        for (const m of source.matchAll(/^export (?:async )?function (\w+)/gm)) {
          const has = examples.some((e) => e.name.startsWith(`function ${m[1]}`) || e.name.startsWith(`async function ${m[1]}`));
          assert.ok(has, `${module}.ts: ${m[1]} has no @example`);
        }
        if (classes) {
          for (const m of source.matchAll(/^export class (\w+)(?: extends (\w+))?/gm)) {
            if (m[2] === "SensorSealError") continue; // typed errors: one example in errors.ts shows their use
            assert.ok(
              examples.some((e) => e.name.startsWith(`class ${m[1]}`)),
              `${module}.ts: class ${m[1]} has no @example`,
            );
          }
        }
        assert.ok(examples.length > 0, `${module}.ts has no @example at all`);
        for (const { name, code } of examples) {
          await assert.doesNotReject(() => runExample(dir, module, code), `${module}.ts, example of ${name}`);
        }
      });
    }
  });
}
