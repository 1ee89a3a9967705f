// The order of a restore, for every kind of node: first this deployment's instances are
// taken out of service (stopped or removed, or put back in place to the version they
// replaced), next what they replaced and what `stop` stopped runs again, then the driver
// finishes (waits until the node is as the restore left it, removes what is left of the
// deployment); last, what should run again and does not is reported missing. Taken out
// before the others start: a host port cannot be held twice. The driver gives the small
// operations; a restore cut short by a crash and run again finds the same instances and
// takes the same steps, each of them idempotent.
import type { RestoreOutcome } from '../target';
import type { Placed } from './apply';

export interface RestoreDriver<P extends Placed> {
  /** The application's instances on the node. */
  placed(application: string): Promise<P[]>;
  /** Takes one of the deployment's instances out of service: back to its own earlier version when it replaced itself in place, else stopped or removed. */
  withdraw(instance: P): Promise<void>;
  /** Starts again an instance that was replaced or stopped; false when there was nothing to do. */
  restart(instance: P): Promise<boolean>;
  /** After the others run again: waits until the node is as the restore left it and removes what is left of the deployment. */
  finish(ref: { application: string; deploymentId: string }, found: { placed: P[]; withdrawn: P[] }): Promise<void>;
}

/** Undoes `deploymentId` on the node, and starts again the instances named in `restart`. */
export async function restoreNode<P extends Placed>(ref: { application: string; deploymentId: string; restart: readonly string[] }, driver: RestoreDriver<P>): Promise<RestoreOutcome> {
  const placed = await driver.placed(ref.application);
  const ours = placed.filter((p) => p.deploymentId === ref.deploymentId);
  const wanted = [...new Set([...ours.flatMap((p) => p.replaced), ...ref.restart])];
  const removed: string[] = [];
  const restarted: string[] = [];
  for (const p of ours) {
    await driver.withdraw(p);
    (p.replaced.includes(p.name) ? restarted : removed).push(p.name);
  }
  for (const p of placed) {
    if (p.deploymentId !== ref.deploymentId && wanted.includes(p.name) && (await driver.restart(p))) restarted.push(p.name);
  }
  await driver.finish(ref, { placed, withdrawn: ours });
  const after = await driver.placed(ref.application);
  const runs = (name: string) => after.some((p) => p.name === name && p.running && p.deploymentId !== ref.deploymentId);
  return { removed, restarted, missing: wanted.filter((n) => !runs(n)) };
}
