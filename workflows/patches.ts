// Every patch of the workflow code, in one place, with the rule for retiring it. A patch
// lets a changed workflow replay the histories its earlier shape recorded: `patched(id)` is
// false while replaying a history made without the change, true (and recorded) otherwise.
// Its life (the Temporal SDK's patching API): `patched` -> `deprecatePatch` once no history
// without the marker can still be replayed -> removed.

export const PATCHES = {
  /**
   * Deployment records written at the end of a run (workflows/v1/ only). Retire with v1.
   */
  deploymentRecords: 'deployment-records',
  /**
   * The node seam: operations that speak the target verbs (workflows/operation.ts) instead
   * of the Docker Engine steps of workflows/v1/. Retire when no v1 run is open and the
   * namespace's retention has passed since the last one closed: then `deprecatePatch`, and
   * one release later remove the check, workflows/v1/ and activities/targets/docker-engine/legacy-v1*.
   */
  targetSeam: 'target-seam',
  /**
   * Lock grants that name the run they are for (a reset run must not take its base run's
   * grant), with the 10 s liveness check that compensates a terminated holder. Deprecated
   * (`deprecatePatch`; the old path, a 30 s check that only asked whether the holder ran, is
   * gone): a lock ends minutes after its last deployment, so none started before the patch
   * still runs. The recorded locks without its marker (application-lock.json,
   * v2-application-lock.json) replay on the new path: neither ever checked a holder, and a
   * replay compares neither a timer's duration nor a signal's input. A lock without the marker
   * that did check a holder would not replay; only a query of such a closed lock could ask,
   * within the namespace's retention. Remove the call one retention period after the release
   * that deprecated it.
   */
  lockGrantsName: 'lock-grants-name',
  /**
   * A run tells that it was reset from what its history holds (events before its first
   * workflow task), not from its run id, which a replayer does not know. Retire one
   * retention period after the release that added it: a deployment can run for long (paused,
   * or thousands of nodes), so one started before it may still be replayed. The recorded
   * histories without its marker replay on either path (none of them was reset).
   */
  resetFromHistory: 'reset-from-history',
  /**
   * A rollback publishes what its restore reported before it releases the lock: otherwise
   * the release and the next publish were issued in an order that depended on whether their
   * local activities resolved in one activation or two, which a replay does not repeat.
   * Retire one retention period after the release that added it.
   */
  flushBeforeRelease: 'flush-before-release',
  /**
   * The saga in the memo: a run upserts each batch's undos before the batch touches a node,
   * and its recorded outcome once it is written, where the compensation of a terminated run
   * reads them (workflows/saga-memo.ts). Retire one retention period after the release that
   * added it; runs started before it are not compensated after a Terminate (their memo holds
   * no saga): docs/failure-handling.md says so.
   */
  sagaInMemo: 'saga-in-memo',
  /**
   * Restores wait for the event log, and report once every call of a batch has answered:
   * a restore and a publish out at once, or two restores reporting as each answered, issued
   * the next command in an order that depended on which local activity resolved in which
   * activation, which a replay does not repeat (a compensation of a Terminate whose first
   * publish and first restore answered together did not replay). Retire one retention
   * period after the release that added it.
   */
  restoreInTurn: 'restore-in-turn',
  /**
   * Local activities one at a time (workflows/local-lane.ts): two in flight at once resolved
   * together on a replay where the live run had them apart, and the code after them issued
   * its next commands in another order. Retire one retention period after the release that
   * added it.
   */
  localActivityLane: 'local-activity-lane',
  /**
   * An operation checks its input first, as the bridge checks a message (a workflow started
   * in Temporal past the bridge is refused by the same rules). Retire one retention period
   * after the release that added it.
   */
  checkInput: 'check-input',
  /**
   * An Undeploy of an application that runs nowhere succeeds, "nothing to remove" (its goal,
   * the application on no node, holds), where it ended `RolledBack` though nothing was rolled
   * back. Retire one retention period after the release that added it.
   */
  undeployNothing: 'undeploy-nothing',
  /**
   * A node that rolls out alone publishes its steps' events as they happen, under a lease of
   * the event log's numbers (src/core/live-events.ts): the parent waits for its events to be
   * published before it starts the node's workflow, which a run recorded before did not.
   * Retire one retention period after the release that added it.
   */
  liveNodeEvents: 'live-node-events',
  /**
   * Nodes that roll out side by side relay their steps' events to the deployment's run as
   * they happen (a signal each), which publishes them among its own: a run recorded before
   * started them without `relay`, and received no such signal. Retire one retention period
   * after the release that added it.
   */
  relayNodeEvents: 'relay-node-events',
  /**
   * A node's step under a lease is waited for when cancelled (WAIT_CANCELLATION_COMPLETED),
   * until its last publish answered: a run recorded before went on at once. Retire one
   * retention period after the release that added it.
   */
  awaitCancelledSteps: 'await-cancelled-steps',
  /**
   * A site whose worker is gone: a node alone on a site's queue relays its steps' events to the
   * run (a site worker publishes nothing to Kafka) where a run recorded before lent it a lease;
   * and a retire or remove that no site worker took up is reported per node, as a refusal is,
   * where a run recorded before failed on it. Retire one retention period after the release
   * that added it.
   */
  siteUnreachable: 'site-unreachable',
} as const;
