// What the CLI and the HTTP API check before sending a Cancel or a Retry, in one place: the
// deployment must be one Temporal knows, in a state where the request changes something (a
// Cancel of an ended deployment or a Retry of a running or succeeded one is ignored by the
// workflows, so it is refused here with the reason). The request goes keyed by the
// deployment's application, in order with that application's other requests.
import { randomBytes } from 'node:crypto';
import { isTerminal } from '../core/schemas/event';
import type { DeploymentView } from './describe';

/** How long a deployment that has published its outcome may take to close. */
const CLOSING_WITHIN_MS = 15_000;

export type ControlCheck = { ok: true; key: string } | { ok: false; unknown: boolean; message: string };

function refusal(kind: 'Cancel' | 'Retry', deploymentId: string, status: string): string | undefined {
  if (kind === 'Cancel') return status === 'Running' ? undefined : `deployment '${deploymentId}' has already ended (${status}); a Cancel would change nothing`;
  if (status === 'Running') return `deployment '${deploymentId}' is still running`;
  if (status === 'Succeeded') return `deployment '${deploymentId}' succeeded; only a failed, cancelled or rolled-back deployment can be retried`;
  return undefined;
}

/** `describe`: the deployment as Temporal knows it (undefined when it does not). */
export async function checkControl(describe: (deploymentId: string) => Promise<DeploymentView | undefined>, kind: 'Cancel' | 'Retry', deploymentId: string): Promise<ControlCheck> {
  let view = await describe(deploymentId);
  // A deployment that has published its outcome still releases its lock before it closes;
  // asked about in that moment, it is as good as ended.
  const closingBy = Date.now() + CLOSING_WITHIN_MS;
  while (view?.status === 'Running' && view.phase !== undefined && isTerminal(view.phase) && Date.now() < closingBy) {
    await new Promise((r) => setTimeout(r, 300));
    view = await describe(deploymentId);
  }
  if (view === undefined) return { ok: false, unknown: true, message: `no deployment '${deploymentId}' in Temporal` };
  const refused = refusal(kind, deploymentId, view.status);
  if (refused !== undefined) return { ok: false, unknown: false, message: refused };
  return { ok: true, key: view.application ?? deploymentId };
}

/** A new deploymentId for an operation the operator did not name: the application, the verb, the time, and a little randomness. */
export function operationId(application: string, verb: string, now: Date, random = randomBytes(3).toString('hex')): string {
  return `${application}-${verb}-${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random}`;
}
