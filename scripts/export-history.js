// Writes a workflow's history as JSON (the form `temporal workflow show -o json` writes),
// every payload decrypted, so that it replays without this installation's keys: how the
// fixtures in test/fixtures/histories are recorded.
//   node scripts/export-history.js WORKFLOW_ID [RUN_ID] > test/fixtures/histories/NAME.json
// Reads the configuration (Temporal address, payload keys) as the worker does; run
// `npm run build` first.
const { resolve, join } = require('node:path');
const { Client, Connection } = require('@temporalio/client');
const { historyToJSON } = require('@temporalio/common/lib/proto-utils');

const dist = resolve(__dirname, '../dist/src');

async function main() {
  const [workflowId, runId] = process.argv.slice(2);
  if (!workflowId) throw new Error('usage: node scripts/export-history.js WORKFLOW_ID [RUN_ID]');
  const { loadConfig } = require(join(dist, 'config'));
  const { dataConverter } = require(join(dist, 'codec/data-converter'));
  const config = loadConfig();
  const codecs = dataConverter(config).payloadCodecs ?? [];
  const connection = await Connection.connect({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const json = JSON.parse(historyToJSON(history));
  const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');
  // Every payload in the history: objects with metadata.encoding and data.
  async function decrypt(value) {
    if (Array.isArray(value)) return Promise.all(value.map(decrypt));
    if (value === null || typeof value !== 'object') return value;
    if (value.metadata?.encoding === ENCRYPTED) {
      let [payload] = [{ metadata: Object.fromEntries(Object.entries(value.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])), data: Buffer.from(value.data ?? '', 'base64') }];
      for (const codec of [...codecs].reverse()) [payload] = await codec.decode([payload]);
      return { metadata: Object.fromEntries(Object.entries(payload.metadata).map(([k, v]) => [k, Buffer.from(v).toString('base64')])), data: Buffer.from(payload.data ?? []).toString('base64') };
    }
    return Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await decrypt(v)])));
  }
  process.stdout.write(`${JSON.stringify(await decrypt(json), null, 2)}\n`);
  await connection.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
