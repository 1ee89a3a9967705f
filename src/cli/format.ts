// What the CLI prints for people: plain-text tables built from plain data, no I/O, so each is
// tested by equality. The same data is what --json prints.
import type { NodeView } from '../core/node-facts';
import type { StatusEvent } from '../core/schemas/event';
import type { DeploymentRecord } from '../core/schemas/record';
import type { DeploymentView } from '../operations/describe';
import type { DeploymentRow } from '../operations/list';

/** Columns padded to their widest cell; the last column is not padded. */
export function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [header, ...rows].map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

const appVersion = (application?: string, version?: string) => (application === undefined ? '' : version === undefined ? application : `${application}:${version}`);

/** The outcome line of a deployment that ended. */
export function outcomeLine(view: DeploymentView): string {
  return `outcome: ${view.status}${view.reason !== undefined ? `: ${view.reason}` : ''}`;
}

/** `status`: a heading, one line per node, and the outcome once the deployment has ended. */
export function renderDeployment(view: DeploymentView): string[] {
  const what = [view.kind, appVersion(view.application, view.version)].filter(Boolean).join(' ');
  const state = view.status === 'Running' && view.phase !== undefined ? `Running (${view.phase})` : view.status;
  const lines = [[view.deploymentId, what, state].filter(Boolean).join('  ')];
  const times = [view.startedAt && `started ${view.startedAt}`, view.endedAt && `ended ${view.endedAt}`, view.source === 'record' && 'from its record'].filter(Boolean);
  if (times.length > 0) lines.push(times.join(', '));
  const nodes = Object.entries(view.nodes);
  if (nodes.length > 0) lines.push(...table(['NODE', 'STATE', 'MESSAGE'], nodes.map(([node, n]) => [node, n.phase !== undefined ? `${n.state} (${n.phase})` : n.state, n.message ?? ''])));
  const checked = nodes.filter(([, n]) => (n.checks ?? []).length > 0);
  if (checked.length > 0) {
    lines.push(...table(['NODE', 'CHECK', 'RESULT', 'DETAIL'], checked.flatMap(([node, n]) => n.checks!.map((c) => [node, c.kind === 'config' ? 'config check' : `${c.name} (${c.kind})`, c.passed ? 'passed' : 'FAILED', c.detail]))));
  }
  if (view.status !== 'Running') lines.push(outcomeLine(view));
  return lines;
}

export function renderDeployments(rows: DeploymentRow[]): string[] {
  if (rows.length === 0) return ['no deployments'];
  return table(
    ['DEPLOYMENT', 'KIND', 'APPLICATION', 'STATUS', 'STARTED', 'ENDED'],
    rows.map((r) => [r.deploymentId, r.kind, appVersion(r.application, r.version), r.status ?? r.execution, r.startedAt, r.endedAt ?? '']),
  );
}

export function renderRecords(records: DeploymentRecord[]): string[] {
  if (records.length === 0) return ['no records'];
  return table(
    ['DEPLOYMENT', 'KIND', 'APPLICATION', 'STATUS', 'NODES', 'ENDED', 'REASON'],
    records.map((r) => [
      r.deploymentId,
      r.kind,
      appVersion(r.application, r.version),
      r.status,
      Object.entries(r.nodes)
        .map(([node, n]) => `${node}=${n.state}`)
        .join(','),
      r.endedAt,
      r.reason ?? '',
    ]),
  );
}

/** `nodes`: one line per node (its target, platform and readiness), then what the Deployer runs there. */
export function renderNodes(nodes: NodeView[]): string[] {
  return nodes.flatMap((n) => {
    const platform = n.status.platform !== undefined ? `  ${n.status.platform.os}/${n.status.platform.architecture}` : '';
    const { status, source, generation, site } = n.fleet;
    const fleet = `${status} (${source === 'topic' ? `topic, generation ${generation}` : 'file'}${site !== undefined ? `, site ${site}` : ''})`;
    const where = `${n.node}  ${n.address}  ${n.target}  ${fleet}${platform}`;
    if (!n.status.ready) return [`${where}  not ready: ${n.status.detail ?? 'no reason given'}`];
    const head = `${where}  ${n.instances.length === 0 ? 'nothing deployed' : `${n.instances.length} instance(s)`}`;
    if (n.instances.length === 0) return [head];
    const rows = table(
      ['APPLICATION', 'DEPLOYMENT', 'STATE', 'INSTANCE'],
      [...n.instances].sort((a, b) => a.application.localeCompare(b.application) || a.name.localeCompare(b.name)).map((c) => [appVersion(c.application, c.version), c.deploymentId, c.state, c.name]),
    );
    return [head, ...rows.map((r) => `  ${r}`)];
  });
}

export function renderEvent(e: StatusEvent): string {
  return `${e.at}  ${e.phase.padEnd(11)} ${(e.node ?? '').padEnd(8)} ${e.message}`;
}
