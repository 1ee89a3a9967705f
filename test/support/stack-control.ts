// Stopping and restarting parts of the local stack from tests, through the project's own scripts.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const script = resolve(__dirname, '../../scripts/stack.sh');

export function stack(...args: string[]): void {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stack.sh ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}

const quorumScript = resolve(__dirname, '../../scripts/kafka-quorum.sh');
const quorumPort = Number(process.env.KAFKA_QUORUM_PORT ?? 29092);

/** The three-broker quorum's client addresses, as scripts/kafka-quorum.sh (lib.sh's KAFKA_QUORUM_PORT) puts them. */
export const QUORUM_BROKERS = [0, 1, 2].map((i) => `127.0.0.1:${quorumPort + i}`).join(',');

/** Runs scripts/kafka-quorum.sh with `args`; its standard output. */
export function kafkaQuorum(...args: string[]): string {
  const r = spawnSync('bash', [quorumScript, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`kafka-quorum.sh ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** The quorum's active controller (1..3), as `kafka-quorum.sh status` names it. */
export function quorumLeader(): number {
  const status = kafkaQuorum('status');
  const leader = /^kafka-quorum leader: (\d)$/m.exec(status)?.[1];
  if (leader === undefined) throw new Error(`kafka-quorum.sh status names no leader:\n${status}`);
  return Number(leader);
}
