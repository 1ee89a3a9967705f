// `deployer deploy FILE`: a request in the contract's form, sent through Kafka as the
// Scheduler sends it, or with --direct started in Temporal as the bridge would start it.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseRequest } from '../../bridge/parse';
import type { Config } from '../../config';
import { loadInventory } from '../../inventory';
import { applicationOf } from '../../core/operation-kinds';
import { createOperations } from '../../operations/start';
import { requestSchema, type OperationRequest, type Request } from '../../core/schemas/request';
import type { CommandOf } from '../args';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Output } from '../output';
import { connectTemporal, sendRequest } from '../platform';
import { exitOf, followEvents } from './events';
import { follow } from './status';

/** The request in `file`, with the command line's overrides; a relative build context is taken relative to the file. */
export function readRequest(file: string, overrides: { id?: string; version?: string }): { request: Request; wire: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file} does not hold a request object`);
  const request = raw as Record<string, unknown> & { application?: { version?: string; source?: { context?: string } } };
  if (overrides.id !== undefined) request.deploymentId = overrides.id;
  if (overrides.version !== undefined && request.application) request.application.version = overrides.version;
  const context = request.application?.source?.context;
  if (typeof context === 'string' && !context.startsWith('/') && !/^[a-z+]+:\/\/|^git@/.test(context)) {
    request.application!.source!.context = resolve(dirname(file), context);
  }
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) throw new UsageError(`${file} is not a valid request:\n${z.prettifyError(parsed.error)}`);
  return { request: parsed.data, wire: request };
}

const keyOf = (request: Request) => (request.kind === 'Cancel' || request.kind === 'Retry' ? request.deploymentId : applicationOf(request));

/** What the bridge would do with the request: the same validation (inventory and node policy included), then the same start. */
async function startDirect(config: Config, wire: Record<string, unknown>, cmd: CommandOf<'deploy'>, out: Output): Promise<ExitCode> {
  const parsed = parseRequest(Buffer.from(JSON.stringify(wire)), { inventory: loadInventory(config.inventoryPath), maxBytes: config.kafka.maxRequestBytes });
  if (!parsed.ok) throw new UsageError(`${cmd.file} is not a valid request: ${parsed.reason}`);
  if (parsed.request.kind === 'Cancel' || parsed.request.kind === 'Retry') {
    throw new UsageError(`--direct starts Deploy, Rollback, Scale and Undeploy requests; use 'deployer ${parsed.request.kind.toLowerCase()} ${parsed.request.deploymentId}'`);
  }
  const request: OperationRequest = parsed.request;
  const temporal = await connectTemporal(config);
  try {
    const started = await createOperations(temporal.client, config.temporal.taskQueue).startOperation(request);
    if (Array.isArray(started)) throw new UsageError(started.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
    const note = started === 'duplicate' ? 'was already started' : 'started';
    if (cmd.wait) out.text(`${request.kind} ${request.deploymentId} ${note} in Temporal`);
    else out.answer({ kind: request.kind, deploymentId: request.deploymentId, started }, `${request.kind} ${request.deploymentId} ${note} in Temporal`);
    if (!cmd.wait) return EXIT.ok;
    return await follow(temporal, config, request.deploymentId, { intervalSeconds: 1, timeoutSeconds: cmd.timeout }, out);
  } finally {
    await temporal.close();
  }
}

export async function deployCommand(cmd: CommandOf<'deploy'>, config: Config, out: Output): Promise<ExitCode> {
  const { request, wire } = readRequest(cmd.file, cmd);
  if (cmd.direct) return startDirect(config, wire, cmd, out);
  await sendRequest(config, keyOf(request), wire);
  const sent = { kind: request.kind, deploymentId: request.deploymentId, topic: config.kafka.topics.requests };
  // With --wait and --json the events are the stream; the acknowledgement would break it.
  if (cmd.wait) out.text(`sent ${request.kind} ${request.deploymentId} to ${sent.topic}`);
  else out.answer(sent, `sent ${request.kind} ${request.deploymentId} to ${sent.topic}`);
  if (!cmd.wait) return EXIT.ok;
  return exitOf(await followEvents(config, request.deploymentId, cmd.timeout, out));
}
