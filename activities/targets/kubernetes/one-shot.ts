// Commands run once on a Kubernetes node, with what they print: a one-shot pod (a
// configuration check, a test container) that is waited for until it ends and then deleted,
// and a command run in a container of a running pod (an exec test), over the API server's
// exec WebSocket. Output is captured up to a bound, its end kept, and handed back for judging
// and redaction; it is never logged here. A run that cannot finish is the run's problem, in
// words; only an API server that does not answer (or a node that is not Ready) fails the call.
import type { Exec, V1Pod, V1Status } from '@kubernetes/client-node';
import type { RunOutput } from '../../../src/core/deployment-tests';
import { EngineUnreachableError } from '../../../src/core/errors';
import type { NodeStatus } from '../../../src/core/node-facts';
import type { KubePod } from '../../../src/core/renderers/kubernetes';
import { heartbeat } from '../../control/heartbeat';
import { OutputCollector } from '../output';
import { kubeError, said, statusOfKube, type ClusterApis } from './clusters';

/** What is asked of a pod's log: its last lines, bounded in bytes too, so a huge log cannot fill the worker. */
const LOG_TAIL = { tailLines: 4000, limitBytes: 1024 * 1024 };
/**
 * How long a one-shot pod may take to start (its image pulled, its volumes mounted): not
 * counted in the check's or test's own timeout, as on a Docker Engine, where the pull comes
 * before the run's timer.
 */
const START_MS = 180_000;
const POLL_MS = 250;
/** Container states from which a one-shot pod's container never starts by itself: the run fails with the reason. */
const NEVER_STARTS = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull', 'CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** What a one-shot run needs of its target: the node's cluster and whether the node is Ready. */
export interface OneShotNode {
  id: string;
  apis(): Promise<ClusterApis>;
  member(): Promise<NodeStatus>;
}

async function call<T>(node: OneShotNode, what: string, fn: (a: ClusterApis, namespace: string) => Promise<T>): Promise<T> {
  const a = await node.apis();
  try {
    return await fn(a, a.cluster.namespace);
  } catch (err) {
    throw kubeError(node.id, err, what);
  }
}

/** Pods on a node whose kubelet is gone never change: the call fails, to be tried again, rather than wait out a deadline. */
async function ready(node: OneShotNode): Promise<void> {
  const status = await node.member();
  if (!status.ready) throw new EngineUnreachableError(node.id, { detail: status.detail });
}

/**
 * Deletes the pod at once (grace 0: a one-shot pod has nothing to finish) and waits until
 * the API server has let go of its name, so that a new pod of that name can be created.
 */
export async function deletePod(node: OneShotNode, name: string): Promise<void> {
  for (let i = 0; ; i++) {
    const a = await node.apis();
    try {
      await a.core.deleteNamespacedPod({ name, namespace: a.cluster.namespace, gracePeriodSeconds: 0 });
    } catch (err) {
      if (statusOfKube(err) === 404) return;
      throw kubeError(node.id, err, `deleting pod ${name}`);
    }
    if (i >= 100) throw new Error(`pod ${name} on ${node.id} was not deleted within ${(100 * POLL_MS) / 1000} s`);
    await sleep(POLL_MS);
  }
}

/** The end of the pod's log, or undefined when the log endpoint does not answer (the API server reaches it through the node's kubelet). */
async function logOf(node: OneShotNode, name: string, container: string): Promise<string | undefined> {
  const a = await node.apis();
  try {
    const log = await a.core.readNamespacedPodLog({ name, namespace: a.cluster.namespace, container, ...LOG_TAIL });
    const out = new OutputCollector();
    out.add(typeof log === 'string' ? log : JSON.stringify(log));
    return out.output;
  } catch {
    return undefined;
  }
}

/**
 * Creates the pod (a leftover of an earlier attempt is deleted first), waits until it ends,
 * at most `timeoutMs` once its container runs, and deletes it, whatever happened. Its exit
 * code, and its output: the end of its log, or, when the log cannot be read, the termination
 * message the program wrote itself. Not `FallbackToLogsOnError`: that would copy the log's end,
 * whatever secret it shows, into the pod's status, which the API server stores and shows to
 * anyone who may read pods. Objects the pod mounts are the caller's, in place before.
 */
export async function runPod(node: OneShotNode, pod: KubePod, timeoutMs: number): Promise<RunOutput> {
  const { name } = pod.metadata;
  const container = pod.spec.containers[0]!.name as string;
  await deletePod(node, name);
  try {
    const a = await node.apis();
    try {
      await a.core.createNamespacedPod({ namespace: a.cluster.namespace, body: pod as unknown as V1Pod });
    } catch (err) {
      const status = statusOfKube(err);
      if (status === undefined || status >= 500) throw kubeError(node.id, err, `creating pod ${name}`);
      return { output: '', problem: `the API server refused its pod: ${said(err)}` };
    }
    const created = Date.now();
    let started: number | undefined;
    for (;;) {
      const p = await call(node, `reading pod ${name}`, (x, ns) => x.core.readNamespacedPod({ name, namespace: ns }));
      const state = p.status?.containerStatuses?.[0]?.state;
      const phase = p.status?.phase ?? 'Pending';
      if (started === undefined && (state?.running !== undefined || state?.terminated !== undefined)) started = Date.now();
      heartbeat({ pod: name, phase, waiting: state?.waiting?.reason });
      if (phase === 'Succeeded' || phase === 'Failed') {
        const ended = state?.terminated;
        const output = (await logOf(node, name, container)) ?? ended?.message ?? '';
        if (ended === undefined) return { output, problem: `its pod failed without running: ${[p.status?.reason, p.status?.message].filter(Boolean).join(': ') || 'no reason given'}` };
        return { exitCode: ended.exitCode, output };
      }
      const waiting = state?.waiting;
      if (waiting?.reason !== undefined && NEVER_STARTS.has(waiting.reason)) return { output: '', problem: `could not start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}` };
      if (started !== undefined && Date.now() - started > timeoutMs) return { output: (await logOf(node, name, container)) ?? '', problem: `it did not finish within ${timeoutMs} ms` };
      if (started === undefined && Date.now() - created > START_MS) return { output: '', problem: `its pod did not start within ${START_MS / 1000} s (${waiting?.reason ?? phase})` };
      await ready(node);
      await sleep(POLL_MS);
    }
  } finally {
    await deletePod(node, name);
  }
}

/** A command's end as the exec's status says it: `Success`, or a `Failure` whose cause `ExitCode` holds the code. */
export function execResult(status: V1Status): { exitCode: number } | { problem: string } {
  if (status.status === 'Success') return { exitCode: 0 };
  const code = status.details?.causes?.find((c) => c.reason === 'ExitCode')?.message;
  if (code !== undefined && /^\d+$/.test(code)) return { exitCode: Number(code) };
  return { problem: `could not run: ${status.message ?? status.reason ?? 'the API server gave no reason'}` };
}

/**
 * A WebSocket that never opened: refused by an answer other than 101 (an error of the
 * WebSocket's own, without a code), or not reached at all (a socket's or TLS's error, with
 * its code: ECONNREFUSED, ETIMEDOUT, a certificate's).
 */
function connectFailure(err: unknown): { answered: boolean; message: string } {
  const e = err as { message?: string; error?: { code?: unknown; message?: string } };
  return { answered: e.error !== undefined && e.error.code === undefined, message: e.error?.message ?? e.message ?? String(err) };
}

/** Runs `command` in the pod's container within `timeoutMs`: its exit code and output (stdout and stderr as they came). */
export async function execInPod(node: OneShotNode, pod: string, container: string, command: string[], timeoutMs: number): Promise<RunOutput> {
  await ready(node);
  const a = await node.apis();
  const out = new OutputCollector();
  let settle: (r: RunOutput) => void = () => undefined;
  const done = new Promise<RunOutput>((resolve) => (settle = resolve));
  let socket: Awaited<ReturnType<Exec['exec']>>;
  try {
    socket = await a.exec.exec(a.cluster.namespace, pod, container, command, out.sink(), out.sink(), null, false, (status) => {
      const r = execResult(status);
      settle('exitCode' in r ? { exitCode: r.exitCode, output: out.output } : { output: out.output, problem: r.problem });
    });
  } catch (err) {
    const failure = connectFailure(err);
    if (!failure.answered) throw new EngineUnreachableError(node.id, { detail: `the cluster's API server does not answer (exec in pod ${pod}: ${failure.message})` });
    const hint = /\b403\b/.test(failure.message) ? ": does the Deployer's role allow get and create on pods/exec?" : '';
    return { output: '', problem: `could not run: the API server refused the exec (${failure.message}${hint})` };
  }
  // The status comes before the socket closes; a socket that closes without one lost the command's end.
  socket.on('close', () => settle({ output: out.output, problem: 'the exec connection closed before the command ended' }));
  const timer = setTimeout(() => settle({ output: out.output, problem: `it did not finish within ${timeoutMs} ms` }), timeoutMs);
  try {
    return await done;
  } finally {
    clearTimeout(timer);
    socket.close();
  }
}
