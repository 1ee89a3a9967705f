// Replays recorded workflow histories (JSON as `temporal workflow show -o json` writes it)
// against the current workflow code and prints one JSON line per history:
// {"file": ..., "ok": true} or {"file": ..., "ok": false, "error": ...}.
//   node scripts/replay-histories.js DIR
// Encrypted payloads are decrypted as the worker does, with the keys the configuration names
// (DEPLOYER_PAYLOAD_KEYS_FILE), by the compiled codec: run `npm run build` first.
// Plain Node on purpose: inside jest's module registry the protobuf decoding of JSON
// histories fails, so the test runs this script as its own process.
const { existsSync, readdirSync, readFileSync } = require('node:fs');
const { join, resolve } = require('node:path');
const { Worker, Runtime, DefaultLogger } = require('@temporalio/worker');

const dist = resolve(__dirname, '../dist/src');

async function main() {
  const dir = process.argv[2];
  if (!existsSync(join(dist, 'codec/data-converter.js'))) throw new Error(`${dist}/codec is missing: run npm run build first`);
  const { loadConfig } = require(join(dist, 'config'));
  const { dataConverter } = require(join(dist, 'codec/data-converter'));
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const histories = files.map((file) => ({ workflowId: file, history: JSON.parse(readFileSync(join(dir, file), 'utf8')) }));
  const config = loadConfig();
  // The bundle the test run made once, when there is one; else the sources, bundled here.
  const code = config.workflowBundlePath ? { workflowBundle: { codePath: config.workflowBundlePath } } : { workflowsPath: resolve(__dirname, '../workflows/index.ts') };
  const options = { ...code, dataConverter: dataConverter(config) };
  for await (const r of Worker.runReplayHistories(options, histories)) {
    console.log(JSON.stringify(r.error ? { file: r.workflowId, ok: false, error: String(r.error.message) } : { file: r.workflowId, ok: true }));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
