// The compiled `deployer` CLI (dist/, as operators run it) as a child process: what the
// integration tests that drive the CLI share, and any compiled entry point run to its end.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

export const CLI = resolve(__dirname, '../../dist/src/cli/main.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a compiled entry point (`deployer`, a worker, a bridge) with ARGS and `env` (a test
 * Deployer's, usually) until it exits, its own logs kept to warnings; one still running after
 * `timeoutMs` is killed, and its code is then null.
 */
export function runCompiled(entry: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs?: number): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [entry, ...args], { env: { ...env, DEPLOYER_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const deadline = timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(deadline);
      done({ code, stdout, stderr });
    });
  });
}

/** Runs `deployer ARGS` with `env` (a test Deployer's, usually), its own logs kept to warnings. */
export const runCli = (args: string[], env: NodeJS.ProcessEnv): Promise<CliRun> => runCompiled(CLI, args, env);
