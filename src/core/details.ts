// What the Temporal UI shows about a deployment besides its history: the static details and
// memo it is started with (by the bridge or the CLI), and the markdown tables the workflows
// keep as current details. Temporal renders details as markdown; a table cell cannot hold a
// pipe or a line break, so free text (node messages, image references) is flattened first.
// Pure: the bridge and the workflows both use it.
import { withoutCredentials } from './git-source';
import { applicationOf, type OperationKind } from './operation-kinds';
import type { OperationRequest } from './schemas/request';

/** A markdown table cell: one line, pipes escaped. */
export function cell(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, ' ').replace(/\|/g, '\\|');
}

export function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A short list: the first few and how many more. */
export function someOf(items: readonly string[], shown = 3): string {
  return items.length <= shown ? items.join(', ') : `${items.slice(0, shown).join(', ')} and ${items.length - shown} more`;
}

/** A short list of node ids: the first few and how many more. */
export const someNodes = someOf;

const code = (text: string) => `\`${text.replace(/`/g, "'")}\``;

/** The static details of a deployment's workflow: what was asked for, as the request says it. */
export function startDetails(request: OperationRequest): string {
  const rows: string[][] = [];
  switch (request.kind) {
    case 'Deploy': {
      const { name, version, image, images, source } = request.application;
      const { maxParallel, onFailure } = request.strategy;
      rows.push(['application', name], ['version', version], ['nodes', someNodes(request.nodes, 50)], ['replicas per node', String(request.replicasPerNode)]);
      rows.push(['strategy', `${maxParallel} node(s) at a time; on failure ${onFailure}`]);
      if (image !== undefined) rows.push(['image', code(image)]);
      for (const [platform, ref] of Object.entries(images ?? {})) rows.push([`image for ${platform}`, code(ref)]);
      if (source !== undefined) rows.push(['source', `${code(withoutCredentials(source.context))}, ${code(source.dockerfile)}`]);
      if (request.dependsOn.length > 0) rows.push(['depends on', request.dependsOn.join(', ')]);
      break;
    }
    case 'Rollback':
      rows.push(['application', request.application], ['to version', request.toVersion ?? 'the version before the current one']);
      break;
    case 'Scale':
      rows.push(['application', request.application], ['nodes', someNodes(request.nodes, 50)], ['replicas per node', String(request.replicasPerNode)]);
      break;
    case 'Undeploy':
      rows.push(['application', request.application], ['nodes', request.nodes !== undefined ? someNodes(request.nodes, 50) : 'every node it runs on']);
      break;
  }
  return `**${request.kind}** \`${request.deploymentId}\`\n\n${table(['', ''], rows)}`;
}

/** The memo a deployment's workflow starts with: what it is, readable (with the codec) without decoding its input. */
export function startMemo(request: OperationRequest): { kind: OperationKind; application: string } {
  return { kind: request.kind, application: applicationOf(request) };
}
