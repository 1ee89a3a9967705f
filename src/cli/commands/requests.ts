// `deployer cancel|retry|rollback|scale|undeploy`: the contract's requests, sent through
// Kafka as the Scheduler sends them, keyed by application so that they stay in order with
// the application's other requests. Cancel and Retry are checked against Temporal first, and
// the others by the bridge's own rules, so that a request the bridge would ignore or
// dead-letter is refused here with the reason.
import type { Config } from '../../config';
import { checkControl, operationId } from '../../operations/control';
import { parseRequest } from '../../bridge/parse';
import type { OperationRequest, Request } from '../../core/schemas/request';
import type { CommandOf } from '../args';
import { describeDeployment } from '../../operations/describe';
import { DeploymentError, EXIT, UsageError, type ExitCode } from '../errors';
import type { Output } from '../output';
import { cliFleet, connectTemporal, sendRequest } from '../platform';
import { exitOf, followEvents } from './events';

async function send(config: Config, key: string, request: Request, out: Output, extra: Record<string, unknown> = {}): Promise<void> {
  await sendRequest(config, key, request);
  const sent = { kind: request.kind, deploymentId: request.deploymentId, ...extra, topic: config.kafka.topics.requests };
  out.answer(sent, `sent ${request.kind} ${request.deploymentId} to ${sent.topic}`);
}

/** The key of a Cancel or Retry of a deployment Temporal knows, after the checks of operations/control.ts. */
async function controlKey(config: Config, kind: 'Cancel' | 'Retry', deploymentId: string): Promise<string> {
  const temporal = await connectTemporal(config);
  try {
    const checked = await checkControl((id) => describeDeployment(temporal, id), kind, deploymentId);
    if (!checked.ok) throw new DeploymentError(checked.message, deploymentId);
    return checked.key;
  } finally {
    await temporal.close();
  }
}

export async function cancelCommand(cmd: CommandOf<'cancel'>, config: Config, out: Output): Promise<ExitCode> {
  const key = await controlKey(config, 'Cancel', cmd.id);
  await send(config, key, { kind: 'Cancel', deploymentId: cmd.id }, out);
  return EXIT.ok;
}

export async function retryCommand(cmd: CommandOf<'retry'>, config: Config, out: Output): Promise<ExitCode> {
  const key = await controlKey(config, 'Retry', cmd.id);
  await send(config, key, { kind: 'Retry', deploymentId: cmd.id }, out);
  return EXIT.ok;
}

export { operationId };

/** Checks `request` as the bridge will (schema, inventory, node policy), sends it, and with --wait follows it to its end. */
async function sendOperation(config: Config, request: Record<string, unknown> & { application: string }, cmd: { wait: boolean; timeout: number }, out: Output, extra: Record<string, unknown>): Promise<ExitCode> {
  const parsed = parseRequest(Buffer.from(JSON.stringify(request)), { inventory: await cliFleet(config), gitPrefixes: config.build.gitPrefixes, maxBytes: config.kafka.maxRequestBytes });
  if (!parsed.ok) throw new UsageError(`the ${String(request.kind)} request would be refused: ${parsed.reason}`);
  const checked = parsed.requests[0] as OperationRequest;
  // With --wait and --json the events are the stream; the acknowledgement goes to people only.
  await send(config, request.application, checked, cmd.wait ? { ...out, answer: (_v, lines) => out.text(lines) } : out, { application: request.application, ...extra });
  if (!cmd.wait) return EXIT.ok;
  return exitOf(await followEvents(config, checked.deploymentId, cmd.timeout, out));
}

export function rollbackCommand(cmd: CommandOf<'rollback'>, config: Config, out: Output): Promise<ExitCode> {
  const request = { kind: 'Rollback', deploymentId: cmd.id ?? operationId(cmd.app, 'rollback', new Date()), application: cmd.app, ...(cmd.to !== undefined ? { toVersion: cmd.to } : {}) };
  return sendOperation(config, request, cmd, out, cmd.to !== undefined ? { toVersion: cmd.to } : {});
}

export function scaleCommand(cmd: CommandOf<'scale'>, config: Config, out: Output): Promise<ExitCode> {
  const request = { kind: 'Scale', deploymentId: cmd.id ?? operationId(cmd.app, 'scale', new Date()), application: cmd.app, nodes: cmd.nodes, replicasPerNode: cmd.replicas };
  return sendOperation(config, request, cmd, out, { nodes: cmd.nodes, replicasPerNode: cmd.replicas });
}

export function undeployCommand(cmd: CommandOf<'undeploy'>, config: Config, out: Output): Promise<ExitCode> {
  const request = { kind: 'Undeploy', deploymentId: cmd.id ?? operationId(cmd.app, 'undeploy', new Date()), application: cmd.app, ...(cmd.nodes !== undefined ? { nodes: cmd.nodes } : {}) };
  return sendOperation(config, request, cmd, out, cmd.nodes !== undefined ? { nodes: cmd.nodes } : {});
}
