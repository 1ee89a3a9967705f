// A target with an orchestrator of its own (Swarm, Kubernetes) against what an operator
// would do without the Deployer, on the target's nodes, round by round in one run: each
// round replaces the running version on every node. The ways, same nodes, same program:
//   - the Deployer (Kafka request -> Succeeded event), one service or Deployment per node;
//   - a plain script making the target's own calls with the renderer's spec, all nodes at
//     once, waiting on each node for the new version to run and answer;
//   - any further way the target names (Swarm's `docker service update`).
// Each way has its own application and port, so they never share a service or Deployment.
// A target is described in its own file (swarm.ts, kubernetes.ts) by what differs.
import { connect } from 'node:net';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import type { InventoryNode } from '../../src/core/schemas/inventory';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { waitFor, type TestDeployer } from '../support/deployer';
import { median, type Bench } from './support';

export const program = (port: number) => ['sh', '-c', `trap 'exit 0' TERM; httpd -f -p ${port} -h / & wait`];

/** Resolves true once something accepts a TCP connection on host:port, undefined if nothing does (for waitFor). */
export const answers = (host: string, port: number) =>
  new Promise<boolean | undefined>((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => (s.destroy(), resolve(undefined)));
  });

/** What a way is given each round. */
export interface Round {
  app: string;
  port: number;
  round: number;
  image: string;
}

/** A way besides the Deployer and the plain script; its own round's milliseconds. */
export interface OtherWay {
  /** The last letter of its application's name (the Deployer's is d, the plain script's p). */
  tag: string;
  /** How the round lines and the ratio name it. */
  short: string;
  /** Its row in the summary. */
  label: string;
  /** Round 0 creates what the way rolls out to; it is not measured. */
  rollout(r: Round): Promise<number>;
}

export interface Orchestrator {
  /** As `--only` names it; the first word of every line it prints. */
  name: string;
  /** What its nodes are called in the summary: `swarm nodes`. */
  nodesCalled: string;
  /** Its applications' names begin so: `bench-sw`. */
  appPrefix: string;
  /** The Deployer's port; each further way takes the next. */
  port: number;
  nodes(d: TestDeployer): InventoryNode[];
  /** The request's container settings besides its command. */
  container: Record<string, unknown>;
  /** The plain script's row in the summary. */
  plainLabel: string;
  /**
   * The plain script on one node: the target's own calls for the intent, resolving once they
   * are made with the name of what they made and whether its new version runs (polled).
   */
  apply(node: InventoryNode, intent: NodeIntent): Promise<{ name: string; runs(): Promise<boolean> }>;
  others: OtherWay[];
  remove(d: TestDeployer, application: string): Promise<void>;
}

export interface OrchestratorResult {
  title: string;
  /** The Deployer first, the plain script second; each way's milliseconds per round. */
  ways: { short: string; label: string; ms: number[] }[];
}

function request(t: Orchestrator, { app, port, round, image }: Round, nodes: string[]) {
  return {
    kind: 'Deploy',
    deploymentId: `${app}-${round}`,
    application: { name: app, version: `r${round}`, image },
    nodes,
    container: { command: program(port), ...t.container },
    healthCheck: { tcp: { port }, intervalMs: 50, healthyAfter: 1 },
    strategy: { maxParallel: nodes.length },
  };
}

async function viaDeployer(b: Bench, t: Orchestrator, r: Round): Promise<number> {
  const producedAt = await b.produce(r.app, request(t, r, t.nodes(b.d).map((n) => n.id)));
  const end = await b.terminal(`${r.app}-${r.round}`);
  if (end.event.phase !== 'Succeeded') throw new Error(`${r.app}-${r.round} ended ${end.event.phase}: ${end.event.message}`);
  return end.receivedAt - producedAt;
}

/** The target's calls without Temporal or Kafka, the same spec on every node at once; waits for each node's new version to run, then probes it. */
async function viaPlainScript(b: Bench, t: Orchestrator, r: Round): Promise<number> {
  const started = performance.now();
  const nodes = t.nodes(b.d);
  const intent = nodeIntent(deployRequestSchema.parse(request(t, r, nodes.map((n) => n.id))), r.image);
  await Promise.all(nodes.map(async (node) => {
    const { name, runs } = await t.apply(node, intent);
    await waitFor(`${name} round ${r.round}`, async () => ((await runs()) ? answers(node.address, r.port) : undefined), 60_000, 50);
  }));
  return performance.now() - started;
}

export async function orchestratorBench(b: Bench, t: Orchestrator, rounds: number): Promise<OrchestratorResult> {
  const stamp = Date.now().toString(36);
  const image = `${b.d.inventory.registry.pull}/busybox:1`;
  const deployer = { short: 'deployer', label: 'deployer (Kafka request -> Succeeded event)', tag: 'd', rollout: (r: Round) => viaDeployer(b, t, r) };
  const plain = { short: 'plain', label: t.plainLabel, tag: 'p', rollout: (r: Round) => viaPlainScript(b, t, r) };
  const ways = [deployer, plain, ...t.others].map((w, i) => ({ ...w, app: `${t.appPrefix}${w.tag}-${stamp}`, port: t.port + i, ms: [] as number[] }));
  try {
    // Round 0 creates each way's services or Deployments (the image reaches every node); it is not measured.
    for (const w of ways) await w.rollout({ app: w.app, port: w.port, round: 0, image });
    for (let round = 1; round <= rounds; round++) {
      // Rotate which goes first, so drift on the machine hits all alike.
      for (let i = 0; i < ways.length; i++) {
        const w = ways[(i + round) % ways.length]!;
        w.ms.push(await w.rollout({ app: w.app, port: w.port, round, image }));
      }
      console.log(`  ${t.name} round ${round}: ${ways.map((w) => `${w.short} ${w.ms.at(-1)!.toFixed(0)} ms`).join(', ')}`);
    }
    return { title: `${t.name}, a new version on ${t.nodes(b.d).length} ${t.nodesCalled} at once`, ways: ways.map(({ short, label, ms }) => ({ short, label, ms })) };
  } finally {
    for (const w of ways) await t.remove(b.d, w.app);
  }
}

export function describeOrchestrator(r: OrchestratorResult): string {
  const [deployer, plain, others] = [r.ways[0]!, r.ways[1]!, r.ways.slice(2)];
  const ratios = (w: { ms: number[] }) => deployer.ms.map((t, i) => t / w.ms[i]!);
  const row = (label: string, figure: string) => `  ${label.padEnd(53)}${figure}`;
  return [
    `${r.title}, ${ratios(plain).length} rounds (median):`,
    ...r.ways.map((w) => row(w.label, `${median(w.ms).toFixed(0)} ms`)),
    row(`ratio deployer / ${plain.short}`, `${median(ratios(plain)).toFixed(2)}  (per round: ${ratios(plain).map((x) => x.toFixed(2)).join(', ')})`),
    ...others.map((w) => row(`ratio deployer / ${w.short}`, median(ratios(w)).toFixed(2))),
  ].join('\n');
}
