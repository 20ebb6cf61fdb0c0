#!/usr/bin/env node
// Runs every suite (unit, service, end-to-end) and ends with one line: "N passed, N failed, N skipped".
// The end-to-end suites start the built server, so the server is built first.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

const out = 'test-output';
mkdirSync(out, { recursive: true });
const run = (cmd, args) => spawnSync(cmd, args, { stdio: 'inherit', env: process.env }).status ?? 1;

if (run('npm', ['run', '--silent', 'build']) !== 0 || run('npm', ['run', '--silent', 'build:client']) !== 0) {
  console.error('The build failed; no tests were run.');
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

// Static checks count as one test each: the types of every file (tests included) and the lint rules.
const checks = [
  { name: 'typecheck', cmd: 'npx', args: ['tsc', '-p', 'tsconfig.json', '--noEmit'] },
  { name: 'lint', cmd: 'npx', args: ['eslint', '.'] },
];

// The client's component tests (Angular's Vitest builder) write test-output/client.json; the root Vitest run holds the
// unit, service, end-to-end and browser suites and writes test-output/server.json.
const suites = [
  { name: 'client', cmd: 'npm', args: ['run', '--silent', 'test:client'] },
  { name: 'server', cmd: 'npx', args: ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}/server.json`, ...process.argv.slice(2)] },
];

let passed = 0;
let failed = 0;
let skipped = 0;
let exit = 0;
for (const check of checks) {
  if (run(check.cmd, check.args) === 0) passed += 1;
  else {
    console.error(`Check ${check.name} failed.`);
    failed += 1;
    exit = 1;
  }
}
for (const suite of suites) {
  const file = `${out}/${suite.name}.json`;
  rmSync(file, { force: true });
  const status = run(suite.cmd, suite.args);
  if (!existsSync(file)) {
    console.error(`Suite ${suite.name} produced no report (exit ${status}).`);
    failed += 1;
    exit = 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
  // A file that failed to load counts as a failure even when it has no tests.
  const brokenFiles = (r.testResults ?? []).filter((t) => t.status === 'failed' && (t.assertionResults ?? []).length === 0).length;
  failed += brokenFiles;
  if (status !== 0 || r.numFailedTests > 0 || brokenFiles > 0) exit = 1;
}
const line = `${passed} passed, ${failed} failed, ${skipped} skipped`;
writeFileSync(`${out}/summary.txt`, `${line}\n`);
console.log(line);
process.exit(exit);
