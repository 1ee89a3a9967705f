// Prints each suite's duration, slowest first, then the plain summary of one or more jest
// JSON result files: "N passed, N failed[, N skipped]" (the last line).
const { readFileSync } = require('node:fs');
const { relative } = require('node:path');

const files = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const suites = [];
for (const file of files) {
  let r;
  try {
    r = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    // A run that wrote no results (it could not start) counts as a failure, not as nothing.
    console.error(`no test results at ${file}: ${err.message}`);
    failed += 1;
    continue;
  }
  // A suite that failed to run at all counts as a failure, not as nothing.
  const brokenSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
  passed += r.numPassedTests;
  failed += r.numFailedTests + brokenSuites;
  skipped += r.numPendingTests + r.numTodoTests;
  for (const s of r.testResults) suites.push({ name: relative(process.cwd(), s.name), seconds: (s.endTime - s.startTime) / 1000, status: s.status });
}
if (suites.length > 0) {
  console.log('suite durations, slowest first:');
  for (const s of suites.sort((a, b) => b.seconds - a.seconds)) console.log(`${s.seconds.toFixed(1).padStart(8)} s  ${s.status === 'passed' ? '' : `${s.status.toUpperCase()} `}${s.name}`);
}
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
