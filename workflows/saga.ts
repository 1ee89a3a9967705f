// The saga of an operation: before a node is touched, its undo is registered here; when the
// operation fails or is cancelled, the undos run newest first, outside cancellation. Each
// undo is the target's `restore` of the node: what this deployment created goes, what it
// replaced (and, for a node it took the application off, what it stopped) runs again. The
// nodes of one batch were touched together and are restored together, in one call per task
// queue and group; batches go newest first. An undo that fails is reported and the others
// still run; so does a group whose site's worker took no call (its nodes are reported not
// restored, naming the site, rather than waited for).
import { CancellationScope, patched } from '@temporalio/workflow';
import type { PlannedNode } from '../src/core/plan';
import type { EventLog } from './event-log';
import { reasonOf } from './failures';
import { nodeCalls, someNodes } from './node-calls';
import type { NodeBoard } from './node-board';
import { COMPENSATION_DEADLINE_MS, groupStep, SITE_START_TIMEOUT_MS } from './options';
import { PATCHES } from './patches';
import { sagaMemo, sagaMemoOf } from './saga-memo';

/** Nodes one compensating call acts on at most, so that each call's input and result stay small. */
export const GROUP = 100;

/** One registered undo: [batch, node id, task queue, instances to start again, whether the queue is the workflows' own]. */
export type UndoEntry = [batch: number, nodeId: string, taskQueue: string, restart: string[], local: boolean];

/**
 * The saga in the input of a run that continues as new, small however wide the deployment:
 * consecutive undos of one batch and queue as one run of node ids, each queue named once.
 */
export interface CarriedSaga {
  queues: [taskQueue: string, local: boolean][];
  runs: [batch: number, queue: number, nodeIds: string[], restart?: Record<string, string[]>][];
}

export class Saga {
  private readonly entries: UndoEntry[];
  private readonly seen: Set<string>;

  /** `siteStartTimeoutMs`: how long a restore sent to a site's queue waits for its worker. */
  constructor(
    carried?: CarriedSaga,
    private readonly siteStartTimeoutMs = SITE_START_TIMEOUT_MS,
  ) {
    this.entries = [];
    for (const [batch, q, ids, restart] of carried?.runs ?? []) {
      const [taskQueue, local] = carried!.queues[q]!;
      for (const id of ids) this.entries.push([batch, id, taskQueue, restart?.[id] ?? [], local]);
    }
    this.seen = new Set(this.entries.map(([, id]) => id));
  }

  /** Registers the node's undo unless it has one (a node retried after a pause keeps its first). */
  register(batch: number, node: PlannedNode, restart: string[] = []): boolean {
    if (this.seen.has(node.id)) return false;
    this.seen.add(node.id);
    this.entries.push([batch, node.id, node.taskQueue, restart, node.local ?? false]);
    return true;
  }

  has(nodeId: string): boolean {
    return this.seen.has(nodeId);
  }

  carry(): CarriedSaga {
    return carried(this.entries);
  }

  /**
   * The memo entry of one batch's undos (saga-memo.ts): upserted before the batch touches a
   * node. Carried from that batch's entries alone: at every batch, the whole saga would cost
   * a wide deployment's workflow tasks time that grows with every batch before.
   */
  memoOf(batch: number): Record<string, CarriedSaga> {
    return sagaMemoOf(batch, carried(this.entries.filter(([b]) => b === batch)));
  }

  /** Every batch's memo entry: the memo a continued run starts with. */
  memo(): Record<string, CarriedSaga> {
    return sagaMemo(this.carry());
  }

  /** Runs the undos of some nodes now (they stay registered: a restore is idempotent); returns the nodes that could not be restored. */
  async restore(nodeIds: readonly string[], about: { application: string; deploymentId: string }, board: NodeBoard, events: EventLog): Promise<string[]> {
    const failed: string[] = [];
    const entries = this.entries.filter(([, id]) => nodeIds.includes(id));
    const turn = { board, events, failed, siteStartTimeoutMs: this.siteStartTimeoutMs };
    if (patched(PATCHES.restoreInTurn)) await restoreTogether(about, chunks(entries, GROUP), turn);
    else await Promise.all(chunks(entries, GROUP).map((group) => restoreGroup(about, group, turn)));
    return failed;
  }

  /** Runs every undo, newest batch first; returns the nodes that could not be restored. */
  async compensate(about: { application: string; deploymentId: string }, board: NodeBoard, events: EventLog): Promise<string[]> {
    return CancellationScope.nonCancellable(async () => {
      const failed: string[] = [];
      const turn = { board, events, failed, siteStartTimeoutMs: this.siteStartTimeoutMs };
      const batches = [...new Set(this.entries.map(([batch]) => batch))].sort((a, b) => b - a);
      for (const batch of batches) {
        const ofBatch = this.entries.filter(([b]) => b === batch);
        const groups = chunks(ofBatch, GROUP);
        if (patched(PATCHES.restoreInTurn)) await restoreTogether(about, groups, turn);
        else await Promise.all(groups.map((group) => restoreGroup(about, group, turn)));
      }
      // What follows (the record) starts with no publish out, as each batch did.
      if (patched(PATCHES.restoreInTurn)) await events.flushed();
      return failed;
    });
  }
}

/** Undos in the carried form: each queue named once, consecutive nodes of one batch and queue as one run. */
function carried(entries: UndoEntry[]): CarriedSaga {
  const queues: CarriedSaga['queues'] = [];
  const runs: CarriedSaga['runs'] = [];
  for (const [batch, id, taskQueue, restart, local] of entries) {
    let q = queues.findIndex(([t, l]) => t === taskQueue && l === local);
    if (q < 0) q = queues.push([taskQueue, local]) - 1;
    let run = runs.at(-1);
    if (run === undefined || run[0] !== batch || run[1] !== q) runs.push((run = [batch, q, []]));
    run[2].push(id);
    if (restart.length > 0) (run[3] ??= {})[id] = restart;
  }
  return { queues, runs };
}

/** Entries cut into groups of one task queue each, at most `size` long, in their order. */
function chunks(entries: UndoEntry[], size: number): UndoEntry[][] {
  const byQueue = new Map<string, UndoEntry[]>();
  for (const e of entries) {
    const list = byQueue.get(e[2]);
    if (list === undefined) byQueue.set(e[2], [e]);
    else list.push(e);
  }
  const out: UndoEntry[][] = [];
  for (const list of byQueue.values()) for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}

/** Where restores report, and how long a restore sent to a site's queue waits for its worker. */
interface Turn {
  board: NodeBoard;
  events: EventLog;
  failed: string[];
  siteStartTimeoutMs: number;
}

type Restored = { outcomes: Awaited<ReturnType<ReturnType<typeof nodeCalls>['restoreNodes']>> } | { error: unknown };

function restoreCall(about: { application: string; deploymentId: string }, group: UndoEntry[], siteStartTimeoutMs: number) {
  const ids = group.map(([, id]) => id);
  const { restoreNodes } = nodeCalls({ taskQueue: group[0]![2], local: group[0]![4] }, groupStep, `${someNodes(ids)}: restore ${about.application}`, siteStartTimeoutMs);
  return restoreNodes({ ...about, nodes: group.map(([, nodeId, , restart]) => ({ nodeId, restart })), deadline: Date.now() + COMPENSATION_DEADLINE_MS });
}

/**
 * Restores the groups of one batch at once and reports them only once all have answered,
 * in the groups' order. Replay-critical: nothing is issued while the calls are out (no
 * event is being published: the caller waited for the log), and what follows does not
 * depend on which call answered first or in which workflow activation, which a replay does
 * not repeat (see PATCHES.restoreInTurn).
 */
async function restoreTogether(about: { application: string; deploymentId: string }, groups: UndoEntry[][], turn: Turn): Promise<void> {
  await turn.events.flushed();
  const results = await Promise.all(
    groups.map((group) =>
      restoreCall(about, group, turn.siteStartTimeoutMs).then(
        (outcomes): Restored => ({ outcomes }),
        (error: unknown): Restored => ({ error }),
      ),
    ),
  );
  groups.forEach((group, i) => report(group, results[i]!, turn));
}

/** The shape before PATCHES.restoreInTurn: each group reported as soon as it answers. */
async function restoreGroup(about: { application: string; deploymentId: string }, group: UndoEntry[], turn: Turn): Promise<void> {
  let outcomes;
  try {
    outcomes = await restoreCall(about, group, turn.siteStartTimeoutMs);
  } catch (error) {
    report(group, { error }, turn);
    return;
  }
  report(group, { outcomes }, turn);
}

function report(group: UndoEntry[], result: Restored, { board, events, failed, siteStartTimeoutMs }: Turn): void {
  const ids = group.map(([, id]) => id);
  if ('error' in result) {
    // The call itself failed (its worker never answered, or no worker of its site took it):
    // none of its nodes is known to be back.
    const reason = reasonOf(result.error, { taskQueue: group[0]![2] }, siteStartTimeoutMs);
    for (const id of ids) {
      failed.push(id);
      board.set(id, 'RestoreFailed', reason);
      events.emit('RollingBack', `could not restore: ${reason}`, id);
    }
    return;
  }
  const { outcomes } = result;
  for (const id of ids) {
    const outcome = outcomes[id]!;
    if (outcome.ok && outcome.value.missing.length === 0) {
      const { removed, restarted } = outcome.value;
      const message = `removed ${removed.length ? removed.join(', ') : 'nothing'}; restarted ${restarted.length ? restarted.join(', ') : 'nothing'}`;
      board.set(id, 'RolledBack', message);
      events.emit('RollingBack', message, id);
    } else {
      const reason = outcome.ok ? `gone: ${outcome.value.missing.join(', ')}` : outcome.error;
      failed.push(id);
      board.set(id, 'RestoreFailed', reason);
      events.emit('RollingBack', `could not restore: ${reason}`, id);
    }
  }
}
