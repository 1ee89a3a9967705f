// `deployer list`: running and recent deployments, from Temporal's visibility store.
import type { Config } from '../../config';
import { listDeployments } from '../../operations/list';
import type { CommandOf } from '../args';
import { EXIT, type ExitCode } from '../errors';
import { renderDeployments } from '../format';
import type { Output } from '../output';
import { connectTemporal } from '../platform';

export async function listCommand(cmd: CommandOf<'list'>, config: Config, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    const rows = await listDeployments(temporal.client, config.temporal.taskQueue, cmd, cmd.limit);
    out.answer(rows, renderDeployments(rows));
    return EXIT.ok;
  } finally {
    await temporal.close();
  }
}
