// `deployer cancel|retry|rollback`: the contract's requests, sent through Kafka as the
// Scheduler sends them, keyed by application so that they stay in order with the
// application's other requests. Cancel and Retry are checked against Temporal first, so that
// a request the bridge would ignore or dead-letter is refused here with the reason.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config';
import { isTerminal } from '../../core/schemas/event';
import { rollbackRequestSchema, type Request } from '../../core/schemas/request';
import type { CommandOf } from '../args';
import { describeDeployment } from '../deployment';
import { DeploymentError, EXIT, type ExitCode } from '../errors';
import type { Output } from '../output';
import { connectTemporal, sendRequest } from '../platform';
import { exitOf, followEvents } from './events';

/** How long a deployment that has published its outcome may take to close. */
const CLOSING_WITHIN_MS = 15_000;

async function send(config: Config, key: string, request: Request, out: Output, extra: Record<string, unknown> = {}): Promise<void> {
  await sendRequest(config, key, request);
  const sent = { kind: request.kind, deploymentId: request.deploymentId, ...extra, topic: config.kafka.topics.requests };
  out.answer(sent, `sent ${request.kind} ${request.deploymentId} to ${sent.topic}`);
}

/** The application of a deployment Temporal knows, after `allowed` has accepted its status. */
async function applicationOfDeployment(config: Config, deploymentId: string, allowed: (status: string) => string | undefined): Promise<string> {
  const temporal = await connectTemporal(config);
  try {
    let view = await describeDeployment(temporal, deploymentId);
    // A deployment that has published its outcome still releases its lock before it closes;
    // asked about in that moment, it is as good as ended.
    const closingBy = Date.now() + CLOSING_WITHIN_MS;
    while (view?.status === 'Running' && view.phase !== undefined && isTerminal(view.phase) && Date.now() < closingBy) {
      await new Promise((r) => setTimeout(r, 300));
      view = await describeDeployment(temporal, deploymentId);
    }
    if (view === undefined) throw new DeploymentError(`no deployment '${deploymentId}' in Temporal`, deploymentId);
    const refusal = allowed(view.status);
    if (refusal !== undefined) throw new DeploymentError(refusal, deploymentId);
    return view.application ?? deploymentId;
  } finally {
    await temporal.close();
  }
}

export async function cancelCommand(cmd: CommandOf<'cancel'>, config: Config, out: Output): Promise<ExitCode> {
  const key = await applicationOfDeployment(config, cmd.id, (status) => (status === 'Running' ? undefined : `deployment '${cmd.id}' has already ended (${status}); a Cancel would change nothing`));
  await send(config, key, { kind: 'Cancel', deploymentId: cmd.id }, out);
  return EXIT.ok;
}

export async function retryCommand(cmd: CommandOf<'retry'>, config: Config, out: Output): Promise<ExitCode> {
  const key = await applicationOfDeployment(config, cmd.id, (status) =>
    status === 'Running'
      ? `deployment '${cmd.id}' is still running`
      : status === 'Succeeded'
        ? `deployment '${cmd.id}' succeeded; only a failed, cancelled or rolled-back deployment can be retried`
        : undefined,
  );
  await send(config, key, { kind: 'Retry', deploymentId: cmd.id }, out);
  return EXIT.ok;
}

/** A new deploymentId for a Rollback the operator did not name: the application, the time, and a little randomness. */
export function rollbackId(application: string, now: Date, random = randomBytes(3).toString('hex')): string {
  return `${application}-rollback-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random}`;
}

export async function rollbackCommand(cmd: CommandOf<'rollback'>, config: Config, out: Output): Promise<ExitCode> {
  const request = rollbackRequestSchema.parse({
    kind: 'Rollback',
    deploymentId: cmd.id ?? rollbackId(cmd.app, new Date()),
    application: cmd.app,
    ...(cmd.to !== undefined ? { toVersion: cmd.to } : {}),
  });
  // With --wait and --json the events are the stream; the acknowledgement goes to people only.
  await send(config, cmd.app, request, cmd.wait ? { ...out, answer: (_v, lines) => out.text(lines) } : out, { application: cmd.app, ...(cmd.to !== undefined ? { toVersion: cmd.to } : {}) });
  if (!cmd.wait) return EXIT.ok;
  return exitOf(await followEvents(config, request.deploymentId, cmd.timeout, out));
}
