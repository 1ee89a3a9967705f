// `deployer status ID [--follow]`: where a deployment stands, per node, from Temporal; from
// its record once Temporal has forgotten it. --follow redraws until the deployment ends.
import type { Config } from '../../config';
import type { CommandOf } from '../args';
import { describeDeployment, viewOfRecord } from '../../operations/describe';
import { DeploymentError, EXIT, type ExitCode } from '../errors';
import type { DeploymentView } from '../../operations/describe';
import { renderDeployment } from '../format';
import type { Output } from '../output';
import { cliKafka, connectTemporal, onKafka, type Temporal } from '../platform';
import { readRecords } from '../../operations/records';

/** How long --follow waits for a deployment that Temporal does not know yet. */
const APPEAR_WITHIN_MS = 10_000;

const exitOf = (view: DeploymentView): ExitCode => (view.status === 'Running' || view.status === 'Succeeded' ? EXIT.ok : EXIT.notSucceeded);

async function fromRecord(config: Config, deploymentId: string): Promise<DeploymentView | undefined> {
  const { records } = await onKafka(config, () => readRecords(cliKafka(config), config.kafka.topics.records, (r) => r.deploymentId === deploymentId));
  return records[0] && viewOfRecord(records[0]);
}

/** Redraws the deployment whenever it changes until it ends; on a terminal, in place. */
export async function follow(temporal: Temporal, config: Config, deploymentId: string, opts: { intervalSeconds: number; timeoutSeconds: number }, out: Output): Promise<ExitCode> {
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  const appearBy = Date.now() + APPEAR_WITHIN_MS;
  const tty = !out.json && process.stdout.isTTY === true;
  let shown = '';
  let drawn = 0;
  for (;;) {
    const view = (await describeDeployment(temporal, deploymentId)) ?? (drawn === 0 ? await fromRecord(config, deploymentId) : undefined);
    if (view === undefined) {
      // A request just sent through Kafka becomes a workflow a moment later.
      if (Date.now() < appearBy) {
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      throw new DeploymentError(`no deployment '${deploymentId}': neither Temporal nor the records know it`, deploymentId);
    }
    const key = JSON.stringify({ ...view, endedAt: undefined });
    if (key !== shown) {
      shown = key;
      const lines = renderDeployment(view);
      // On a terminal the previous drawing is replaced (cursor up, clear below); in a pipe each change follows the last.
      if (tty && drawn > 0) process.stdout.write(`\x1b[${drawn}F\x1b[J`);
      out.answer(view, tty ? lines : [...lines, '']);
      drawn = lines.length;
    }
    if (view.status !== 'Running') return exitOf(view);
    if (Date.now() > deadline) throw new DeploymentError(`deployment '${deploymentId}' did not end within ${opts.timeoutSeconds} s`, deploymentId);
    await new Promise((r) => setTimeout(r, opts.intervalSeconds * 1000));
  }
}

export async function statusCommand(cmd: CommandOf<'status'>, config: Config, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    if (cmd.follow) return await follow(temporal, config, cmd.id, { intervalSeconds: cmd.interval, timeoutSeconds: cmd.timeout }, out);
    const view = (await describeDeployment(temporal, cmd.id)) ?? (await fromRecord(config, cmd.id));
    if (view === undefined) throw new DeploymentError(`no deployment '${cmd.id}': neither Temporal nor the records know it`, cmd.id);
    out.answer(view, renderDeployment(view));
    return exitOf(view);
  } finally {
    await temporal.close();
  }
}
