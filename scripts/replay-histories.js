// Replays recorded workflow histories (JSON as `temporal workflow show -o json` writes it)
// against the current workflow code and prints one JSON line per history:
// {"file": ..., "ok": true} or {"file": ..., "ok": false, "error": ...}.
//   node scripts/replay-histories.js DIR
// Plain Node on purpose: inside jest's module registry the protobuf decoding of JSON
// histories fails, so the test runs this script as its own process.
const { readdirSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { Worker, Runtime, DefaultLogger } = require('@temporalio/worker');

async function main() {
  const dir = process.argv[2];
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const histories = files.map((file) => ({ workflowId: file, history: JSON.parse(readFileSync(join(dir, file), 'utf8')) }));
  const results = Worker.runReplayHistories({ workflowsPath: resolve(__dirname, '../workflows/index.ts') }, histories);
  for await (const r of results) {
    console.log(JSON.stringify(r.error ? { file: r.workflowId, ok: false, error: String(r.error.message) } : { file: r.workflowId, ok: true }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
