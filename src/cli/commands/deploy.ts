// `deployer deploy FILE`: a request in the contract's form, or a TOSCA service template (one
// Deploy request per application), sent through Kafka as the Scheduler sends requests, or
// with --direct started in Temporal as the bridge would start them.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseRequest } from '../../bridge/parse';
import { configIssues } from '../../core/admission';
import type { Inventory } from '../../core/schemas/inventory';
import type { Config } from '../../config';
import { loadInventory } from '../../inventory';
import { formatPath, reasonOf, type Issue } from '../../core/issues';
import { applicationOf } from '../../core/operation-kinds';
import { createOperations } from '../../operations/start';
import { requestSchema, type OperationRequest, type Request } from '../../core/schemas/request';
import { importServiceTemplate, isServiceTemplate } from '../../core/tosca/import';
import type { CommandOf } from '../args';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Output } from '../output';
import { cliFleet, connectTemporal, sendRequest } from '../platform';
import { exitOf, followEvents } from './events';
import { follow } from './status';

type DeployCommand = CommandOf<'deploy'>;
/** What reading a file takes from a command line (deploy's and validate's). */
type FileOptions = Pick<DeployCommand, 'file' | 'id' | 'version' | 'input'>;

/** A build context as the file names it; a relative one is taken relative to the file, as the person who wrote it means. */
function contextFrom(file: string, context: string): string {
  return !context.startsWith('/') && !/^[a-z+]+:\/\/|^git@/.test(context) ? resolve(dirname(file), context) : context;
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

/** The request in `file`'s text, with the command line's overrides. */
export function readRequest(file: string, text: string, overrides: { id?: string; version?: string }): { request: Request; wire: Record<string, unknown> } {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new UsageError(`${file} does not hold a request object`);
  const request = raw as Record<string, unknown> & { application?: { version?: string; source?: { context?: string } } };
  if (overrides.id !== undefined) request.deploymentId = overrides.id;
  if (overrides.version !== undefined && request.application) request.application.version = overrides.version;
  const context = request.application?.source?.context;
  if (typeof context === 'string') request.application!.source!.context = contextFrom(file, context);
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) throw new UsageError(`${file} is not a valid request:\n${z.prettifyError(parsed.error)}`);
  return { request: parsed.data, wire: request };
}

/** The Deploy requests of the template in `file`'s text, dependencies first; with `inventory`, checked against it and the git prefixes as the bridge checks them. */
export function readTemplate(file: string, text: string, cmd: FileOptions, config?: Config, inventory?: Inventory): OperationRequest[] {
  // Each application of a template has its own version, so one --version cannot say which.
  if (cmd.version !== undefined) throw new UsageError(`--version sets the version of a request; the versions of ${file}'s applications are its properties (make one an input and give it with --input)`);
  const checked = config && { inventory: inventory ?? loadInventory(config.inventoryPath), gitPrefixes: config.build.gitPrefixes };
  const imported = importServiceTemplate(text, {
    inputs: cmd.input ?? {},
    deploymentId: cmd.id,
    resolveContext: (context) => contextFrom(file, context),
    check: checked && ((request) => configIssues(request, checked)),
  });
  if (!imported.ok) throw new UsageError(`${file} is not a valid service template:\n${imported.issues.map((i) => `  ${reasonOf([i])}`).join('\n')}`);
  return imported.requests;
}

const keyOf = (request: Request) => (request.kind === 'Cancel' || request.kind === 'Retry' ? request.deploymentId : applicationOf(request));

/** With --wait: each deployment followed until it ends, in order; the first that did not succeed ends the command. */
async function followEach(requests: readonly Request[], followOne: (deploymentId: string) => Promise<ExitCode>): Promise<ExitCode> {
  for (const request of requests) {
    const code = await followOne(request.deploymentId);
    if (code !== EXIT.ok) return code;
  }
  return EXIT.ok;
}

/** What the bridge would do with the requests (validated against the inventory and the node policy already), then the same start. */
async function startDirect(config: Config, requests: OperationRequest[], cmd: DeployCommand, template: boolean, out: Output): Promise<ExitCode> {
  const temporal = await connectTemporal(config);
  try {
    const { startOperation } = createOperations(temporal.client, config.temporal.taskQueue, { lockIdleMs: config.lockIdleMs });
    const answers: { kind: string; deploymentId: string; started: string }[] = [];
    const lines: string[] = [];
    for (const request of requests) {
      const started = await startOperation(request);
      if (Array.isArray(started)) throw new UsageError(started.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
      answers.push({ kind: request.kind, deploymentId: request.deploymentId, started });
      lines.push(`${request.kind} ${request.deploymentId} ${started === 'duplicate' ? 'was already started' : 'started'} in Temporal`);
    }
    if (cmd.wait) out.text(lines);
    else out.answer(template ? answers : answers[0], lines);
    if (!cmd.wait) return EXIT.ok;
    return await followEach(requests, (id) => follow(temporal, config, id, { intervalSeconds: 1, timeoutSeconds: cmd.timeout }, out));
  } finally {
    await temporal.close();
  }
}

/** A request file for --direct: validated as the bridge validates a message, inventory and node policy included. */
function directRequest(config: Config, inventory: Inventory, file: string, wire: Record<string, unknown>): OperationRequest {
  const parsed = parseRequest(Buffer.from(JSON.stringify(wire)), { inventory, gitPrefixes: config.build.gitPrefixes, maxBytes: config.kafka.maxRequestBytes });
  if (!parsed.ok) throw new UsageError(`${file} is not a valid request: ${parsed.reason}`);
  const [request] = parsed.requests;
  if (request!.kind === 'Cancel' || request!.kind === 'Retry') {
    throw new UsageError(`--direct starts Deploy, Rollback, Scale and Undeploy requests; use 'deployer ${request!.kind.toLowerCase()} ${request!.deploymentId}'`);
  }
  return request!;
}

export async function deployCommand(cmd: DeployCommand, config: Config, out: Output): Promise<ExitCode> {
  const text = readText(cmd.file);
  const template = isServiceTemplate(text);
  if (!template && cmd.input !== undefined) throw new UsageError(`--input gives the inputs of a TOSCA service template; ${cmd.file} is a request`);
  if (cmd.direct) {
    // The fleet as the bridge would see it: the file and the Node Manager's topic.
    const fleet = await cliFleet(config);
    const requests = template ? readTemplate(cmd.file, text, cmd, config, fleet) : [directRequest(config, fleet, cmd.file, readRequest(cmd.file, text, cmd).wire)];
    return startDirect(config, requests, cmd, template, out);
  }
  const messages = template ? readTemplate(cmd.file, text, cmd).map((request) => ({ request, wire: request as unknown })) : [readRequest(cmd.file, text, cmd)];
  const sent: { kind: string; deploymentId: string; topic: string }[] = [];
  for (const { request, wire } of messages) {
    await sendRequest(config, keyOf(request), wire);
    sent.push({ kind: request.kind, deploymentId: request.deploymentId, topic: config.kafka.topics.requests });
  }
  const lines = sent.map((s) => `sent ${s.kind} ${s.deploymentId} to ${s.topic}`);
  // With --wait and --json the events are the stream; the acknowledgement would break it.
  if (cmd.wait) out.text(lines);
  else out.answer(template ? sent : sent[0], lines);
  if (!cmd.wait) return EXIT.ok;
  return followEach(
    messages.map((m) => m.request),
    async (id) => exitOf(await followEvents(config, id, cmd.timeout, out)),
  );
}

const lineOf = (i: Issue) => `  ${formatPath(i.path) || '(the request)'}${i.line !== undefined ? ` (line ${i.line})` : ''}: ${i.message}`;

/** What a request would do, in a line. */
function whatItDoes(r: Request): string {
  switch (r.kind) {
    case 'Deploy':
      return `Deploy ${r.deploymentId}: ${r.application.name}:${r.application.version} on ${r.nodes.join(', ')}`;
    case 'Rollback':
      return `Rollback ${r.deploymentId}: ${r.application} to ${r.toVersion ?? 'the version healthy before the current one'}, on the nodes it runs on`;
    case 'Scale':
      return `Scale ${r.deploymentId}: ${r.application} on ${r.nodes.join(', ')}, ${r.replicasPerNode} per node, off every other node`;
    case 'Undeploy':
      return `Undeploy ${r.deploymentId}: ${r.application} off ${r.nodes?.join(', ') ?? 'every node it runs on'}`;
    case 'Cancel':
    case 'Retry':
      return `${r.kind} ${r.deploymentId}`;
  }
}

/**
 * `deployer validate FILE`: the request or template checked as the bridge would check it
 * (schema, the fleet: inventory file and Node Manager's topic, node policy, build sources),
 * every problem listed; sends and starts nothing. With the nodes topic switched off
 * (DEPLOYER_NODES_TOPIC empty) it reaches no service: the nodes are the file's alone.
 */
export async function validateCommand(cmd: CommandOf<'validate'>, config: Config, out: Output): Promise<ExitCode> {
  const text = readText(cmd.file);
  const template = isServiceTemplate(text);
  if (!template && cmd.input !== undefined) throw new UsageError(`--input gives the inputs of a TOSCA service template; ${cmd.file} is a request`);
  const fleet = await cliFleet(config);
  let requests: Request[];
  if (template) requests = readTemplate(cmd.file, text, cmd, config, fleet);
  else {
    const { wire } = readRequest(cmd.file, text, cmd);
    const parsed = parseRequest(Buffer.from(JSON.stringify(wire)), { inventory: fleet, gitPrefixes: config.build.gitPrefixes, maxBytes: config.kafka.maxRequestBytes });
    if (!parsed.ok) throw new UsageError(`${cmd.file} would be refused:\n${parsed.issues.map(lineOf).join('\n')}`);
    requests = parsed.requests;
  }
  out.answer({ valid: true, requests }, [`${cmd.file} would be accepted:`, ...requests.map((r) => `  ${whatItDoes(r)}`)]);
  return EXIT.ok;
}
