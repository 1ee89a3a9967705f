// What the events contract promises of a deployment's seq: it increases in the order the
// events arrive, with gaps allowed (a run terminated or reset while a node held a lease of
// numbers is followed by numbers after the whole lease: docs/contract.md).

/** Each seq that does not increase on the one before it, with its place: empty when all do. */
export function notIncreasing(seqs: readonly number[]): string[] {
  return seqs.flatMap((s, i) => (i > 0 && s <= seqs[i - 1]! ? [`#${i}: ${s} after ${seqs[i - 1]}`] : []));
}
