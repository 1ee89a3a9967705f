// `deployer publish-nodes FILE` and `deployer decommission NODE`: the Node Manager's part on
// a platform that has none yet (the local stack, the demo, the tests): node records and
// tombstones sent to its topic, keyed by node id, as the contract says (docs/node-manager.md).
// A record is checked against the contract before it is sent; what each Deployer process
// does with it is still its own judgement (credentials, generations).
import { readFileSync } from 'node:fs';
import { reasonOf, toIssue } from '../../core/issues';
import { nodeRecordSchema, type NodeRecord } from '../../core/schemas/node-record';
import type { Config } from '../../config';
import type { CommandOf } from '../args';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Output } from '../output';
import { sendMessages } from '../platform';

/** The topic, or a usage error when this Deployer follows none. */
function topicOf(config: Config): string {
  if (config.kafka.topics.nodes === undefined) throw new UsageError('DEPLOYER_NODES_TOPIC is set to nothing: this Deployer follows no Node Manager topic');
  return config.kafka.topics.nodes;
}

/** The records in `file`: one JSON record or an array of them, each valid by the contract. */
function readRecords(file: string): NodeRecord[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((r, i) => {
    const parsed = nodeRecordSchema.safeParse(r);
    if (!parsed.success) throw new UsageError(`${file}${Array.isArray(raw) ? `[${i}]` : ''} is not a node record: ${reasonOf(parsed.error.issues.map(toIssue))}`);
    return parsed.data;
  });
}

export async function publishNodesCommand(cmd: CommandOf<'publish-nodes'>, config: Config, out: Output): Promise<ExitCode> {
  const topic = topicOf(config);
  const records = readRecords(cmd.file);
  await sendMessages(config, topic, records.map((r) => ({ key: r.nodeId, value: JSON.stringify(r) })));
  out.answer(
    records.map((r) => ({ nodeId: r.nodeId, generation: r.generation, status: r.status, topic })),
    records.map((r) => `sent ${r.nodeId} (generation ${r.generation}, ${r.status}) to ${topic}`),
  );
  return EXIT.ok;
}

export async function decommissionCommand(cmd: CommandOf<'decommission'>, config: Config, out: Output): Promise<ExitCode> {
  const topic = topicOf(config);
  await sendMessages(config, topic, [{ key: cmd.node, value: null }]);
  out.answer({ nodeId: cmd.node, tombstone: true, topic }, [`sent ${cmd.node}'s tombstone to ${topic}`]);
  return EXIT.ok;
}
