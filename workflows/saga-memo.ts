// The saga as the memo carries it: written by the run at each batch, before the batch touches
// a node, so that whoever must compensate a run that was terminated (workflows/compensation.ts)
// reads what it had registered from the run's memo, which a Terminate leaves in place. One
// memo key per batch: each upsert writes only its batch, so a wide deployment's history does
// not repeat every earlier batch at every batch.
import type { CarriedSaga } from './saga';

const PREFIX = 'saga:';

/** The memo entry of one batch: that batch's undos in the carried form. */
export function sagaMemoOf(batch: number, saga: CarriedSaga): Record<string, CarriedSaga> {
  const runs = saga.runs.filter(([b]) => b === batch);
  const used = [...new Set(runs.map(([, q]) => q))];
  return {
    [`${PREFIX}${batch}`]: {
      queues: used.map((q) => saga.queues[q]!),
      runs: runs.map(([b, q, ids, restart]) => (restart !== undefined ? [b, used.indexOf(q), ids, restart] : [b, used.indexOf(q), ids])),
    },
  };
}

/** Every batch's memo entry: what a run that continues as new starts its memo with. */
export function sagaMemo(saga: CarriedSaga): Record<string, CarriedSaga> {
  return Object.assign({}, ...[...new Set(saga.runs.map(([b]) => b))].map((b) => sagaMemoOf(b, saga)));
}

/** The saga a memo holds (batches in order; nothing when the run had not touched a node). */
export function sagaFromMemo(memo: Record<string, unknown> | undefined): CarriedSaga {
  const out: CarriedSaga = { queues: [], runs: [] };
  const entries = Object.entries(memo ?? {})
    .filter(([k]) => k.startsWith(PREFIX))
    .sort(([a], [b]) => Number(a.slice(PREFIX.length)) - Number(b.slice(PREFIX.length)));
  for (const [, value] of entries) {
    const part = value as CarriedSaga;
    for (const [b, q, ids, restart] of part.runs) {
      const [taskQueue, local] = part.queues[q]!;
      let at = out.queues.findIndex(([t, l]) => t === taskQueue && l === local);
      if (at < 0) at = out.queues.push([taskQueue, local]) - 1;
      out.runs.push(restart !== undefined ? [b, at, ids, restart] : [b, at, ids]);
    }
  }
  return out;
}

/** The memo key of the outcome a run recorded: its outcome is decided once this is set. */
export const OUTCOME_MEMO = 'outcome';
/** The memo key of the last seq a run published once its terminal event is out (set only then). */
export const LAST_SEQ_MEMO = 'lastSeq';
