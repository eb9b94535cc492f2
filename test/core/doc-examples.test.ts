/**
 * Runs every `@example` of the core's JSDoc, so the examples stay runnable.
 * Each example sees its own module's exports; its `import` lines are honoured.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";

import ts from "typescript";

const MODULES = ["errors", "bytes", "keccak", "canonical", "payload", "reading", "merkle", "keys", "manifest"];
const coreDir = new URL("../../oracle/core/", import.meta.url);
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => (
  ...args: unknown[]
) => Promise<unknown>;

type Example = { name: string; code: string };

function examplesOf(source: string): Example[] {
  const out: Example[] = [];
  for (const m of source.matchAll(/\/\*\*([\s\S]*?)\*\/\s*([^\n]*)/g)) {
    const body = m[1]
      .split("\n")
      .map((line) => line.replace(/^\s*\* ?/, ""))
      .join("\n");
    const declaration = m[2].trim().replace(/^export\s+/, "").replace(/[({=:].*$/, "").trim();
    for (const ex of body.matchAll(/@example\s*\n```ts\n([\s\S]*?)```/g)) out.push({ name: declaration, code: ex[1] });
  }
  return out;
}

const IMPORT = /^import\s+(type\s+)?\{([^}]*)\}\s+from\s+"([^"]+)";?\s*$/;

async function runExample(module: string, code: string): Promise<void> {
  const self = (await import(new URL(`${module}.js`, coreDir).href)) as Record<string, unknown>;
  const mods: unknown[] = [];
  const lines: string[] = [];
  for (const line of code.split("\n")) {
    const m = IMPORT.exec(line);
    if (m === null) {
      lines.push(line);
      continue;
    }
    if (m[1] !== undefined) continue; // import type
    const names = m[2]
      .split(",")
      .map((n) => n.trim())
      .filter((n) => n !== "" && !n.startsWith("type "))
      .map((n) => n.replace(/\s+as\s+/, ": "));
    const spec = m[3].startsWith("./") ? new URL(m[3], coreDir).href : m[3];
    mods.push(await import(spec));
    lines.push(`const { ${names.join(", ")} } = __mods[${mods.length - 1}];`);
  }
  const js = ts.transpileModule(lines.join("\n"), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
  }).outputText;
  const selfNames = Object.keys(self).filter((k) => k !== "default");
  await new AsyncFunction("__self", "__mods", `const { ${selfNames.join(", ")} } = __self;\n{\n${js}\n}`)(self, mods);
}

describe("JSDoc @example blocks of oracle/core", () => {
  for (const module of MODULES) {
    const source = readFileSync(new URL(`${module}.ts`, coreDir), "utf8");
    const examples = examplesOf(source);
    it(`${module}.ts: every exported function has an example, and all ${examples.length} run`, async () => {
      for (const m of source.matchAll(/^export (?:async )?function (\w+)/gm)) {
        assert.ok(examples.some((e) => e.name.startsWith(`function ${m[1]}`)), `${module}.ts: ${m[1]} has no @example`);
      }
      for (const { name, code } of examples) {
        await assert.doesNotReject(() => runExample(module, code), `${module}.ts, example of ${name}`);
      }
    });
  }
});
