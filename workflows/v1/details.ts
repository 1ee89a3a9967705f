// What the Temporal UI shows about a deployment besides its history: the static details and
// memo it is started with, and the "current details" its workflows keep up to date. Temporal
// renders details as markdown; a table cell cannot hold a pipe or a line break, so free text
// (node messages, image references) is flattened before it goes into one. Pure: the bridge
// and the workflows both use it.
import type { HealthTarget } from './container-spec';
import type { OperationRequest } from '../../src/core/schemas/request';
import type { DeploymentProgress } from '../definitions';

/** A markdown table cell: one line, pipes escaped. */
export function cell(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/\|/g, '\\|');
}

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

/** The static details of a deployment's workflow: what was asked for, as the request says it. */
export function startDetails(request: OperationRequest): string {
  const rows: string[][] = [];
  switch (request.kind) {
    case 'Deploy': {
      const { name, version, image, source } = request.application;
      const { maxParallel, onFailure } = request.strategy;
      rows.push(['application', name], ['version', version], ['nodes', request.nodes.join(', ')], ['replicas per node', String(request.replicasPerNode)]);
      rows.push(['strategy', `${maxParallel} node(s) at a time; on failure ${onFailure}`]);
      if (image !== undefined) rows.push(['image', code(image)]);
      if (source !== undefined) rows.push(['source', `${code(source.context)}, ${code(source.dockerfile)}`]);
      if (request.dependsOn.length > 0) rows.push(['depends on', request.dependsOn.join(', ')]);
      break;
    }
    case 'Rollback':
      rows.push(['application', request.application], ['to version', request.toVersion ?? 'the version before the current one']);
      break;
    case 'Scale':
      rows.push(['application', request.application], ['nodes', request.nodes.join(', ')], ['replicas per node', String(request.replicasPerNode)]);
      break;
    case 'Undeploy':
      rows.push(['application', request.application], ['nodes', request.nodes?.join(', ') ?? 'every node it runs on']);
      break;
  }
  return `**${request.kind}** \`${request.deploymentId}\`\n\n${table(['', ''], rows)}`;
}

/** The memo a deployment's workflow starts with: what it is, readable (with the codec) without decoding its input. */
export function startMemo(request: OperationRequest): { kind: OperationRequest['kind']; application: string } {
  return { kind: request.kind, application: request.kind === 'Deploy' ? request.application.name : request.application };
}

/**
 * A deployment's current details: one row per node, as the `progress` query returns them.
 * Without the phase, which the workflow's status and the DeployerStatus search attribute show.
 */
export function progressDetails(progress: DeploymentProgress): string {
  return table(['node', 'state', 'last step'], Object.entries(progress.nodes).map(([node, { state, message }]) => [node, state, message]));
}

export type StepState = 'running' | 'done' | 'failed';

/** One step of a node's rollout, as its child workflow shows it. */
export interface NodeStep {
  step: string;
  state: StepState;
}

/** A node's current details: every step so far and how it went. */
export function nodeDetails(node: string, steps: NodeStep[]): string {
  return `**${node}**\n\n${table(['step', 'state'], steps.map((s) => [s.step, s.state]))}`;
}

/** What a health check probes, in a few words. */
export function describeTarget(target: HealthTarget): string {
  switch (target.kind) {
    case 'http':
      return target.url;
    case 'tcp':
      return `tcp ${target.host}:${target.port}`;
    case 'exec':
      return `exec ${target.command.join(' ')}`;
    case 'docker':
      return "the image's Docker health check";
    case 'running':
      return 'running';
  }
}
