// Stopping and restarting parts of the local stack from tests, through the project's own script.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';

const script = resolve(__dirname, '../../scripts/stack.sh');

export function stack(...args: string[]): void {
  const r = spawnSync('bash', [script, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`stack.sh ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
}
