// `deployer nodes`: the inventory's nodes and what the Deployer runs on each, as each node's
// target reports it, asked through the Deployer's workers (only the worker of a node's site
// reaches it). A node that does not answer is listed as unreachable; the others are still shown.
import type { Config } from '../../config';
import { describeNodes } from '../../operations/nodes';
import type { CommandOf } from '../args';
import { EXIT, type ExitCode } from '../errors';
import { renderNodes } from '../format';
import type { Output } from '../output';
import { connectTemporal } from '../platform';

/** The workers answer within seconds; past this, no worker serves the Deployer's queue. */
const ANSWER_TIMEOUT_MS = 60_000;

export async function nodesCommand(_cmd: CommandOf<'nodes'>, config: Config, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    const nodes = await temporal.withDeadline(ANSWER_TIMEOUT_MS, () => describeNodes(temporal.client, config.temporal.taskQueue));
    out.answer(nodes, renderNodes(nodes));
    return EXIT.ok;
  } finally {
    await temporal.close();
  }
}
