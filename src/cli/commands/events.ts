// `deployer events ID`, and following a deployment's status events for `deploy --wait` and
// `rollback --wait`: read from the events topic until the deployment's terminal event.
import type { Config } from '../../config';
import { isTerminal, statusEventSchema, type StatusEvent } from '../../core/schemas/event';
import { DeploymentError, EXIT, type ExitCode } from '../errors';
import type { CommandOf } from '../args';
import { renderEvent } from '../format';
import type { Output } from '../output';
import { cliKafka, onKafka } from '../platform';
import { valueOf } from '../../kafka/topic-scan';

/** Prints the deployment's events (repeats dropped by seq) and returns its terminal one. */
export async function followEvents(config: Config, deploymentId: string, timeoutSeconds: number, out: Output): Promise<StatusEvent> {
  const kafka = cliKafka(config);
  const groupId = `deployer-cli-${process.pid}-${Date.now()}`;
  const consumer = kafka.consumer({ groupId });
  return onKafka(config, async () => {
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: config.kafka.topics.events, fromBeginning: true });
      return await new Promise<StatusEvent>((resolve, reject) => {
        const seen = new Set<number>();
        const timer = setTimeout(() => reject(new DeploymentError(`no terminal event for ${deploymentId} within ${timeoutSeconds} s`, deploymentId)), timeoutSeconds * 1000);
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ message }) => {
              if (message.key?.toString() !== deploymentId || message.value === null) return;
              const event = statusEventSchema.safeParse(valueOf(message));
              if (!event.success || seen.has(event.data.seq)) return;
              seen.add(event.data.seq);
              out.answer(event.data, renderEvent(event.data));
              if (isTerminal(event.data.phase)) {
                clearTimeout(timer);
                resolve(event.data);
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
      const admin = kafka.admin();
      await admin.connect().then(() => admin.deleteGroups([groupId])).catch(() => undefined);
      await admin.disconnect();
    }
  });
}

export const exitOf = (last: StatusEvent): ExitCode => (last.phase === 'Succeeded' ? EXIT.ok : EXIT.notSucceeded);

export async function eventsCommand(cmd: CommandOf<'events'>, config: Config, out: Output): Promise<ExitCode> {
  return exitOf(await followEvents(config, cmd.id, cmd.timeout, out));
}
