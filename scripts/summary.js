// Prints the plain summary of a jest JSON result file: "N passed, N failed[, N skipped]".
const { readFileSync } = require('node:fs');

const file = process.argv[2];
let r;
try {
  r = JSON.parse(readFileSync(file, 'utf8'));
} catch (err) {
  console.error(`no test results at ${file}: ${err.message}`);
  process.exit(1);
}
// A suite that failed to run at all counts as a failure, not as nothing.
const brokenSuites = r.testResults.filter((s) => s.status === 'failed' && s.assertionResults.length === 0).length;
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + brokenSuites} failed${skipped ? `, ${skipped} skipped` : ''}`);
