// Health probes: is a container on a node running and healthy? http and tcp probes reach
// the node's address from the worker; exec and docker probes go through the node's engine.
// The deadline starts when the probing starts, i.e. after the container started, so time
// spent pulling never counts against it.
import { connect } from 'node:net';
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import type { HealthPolicy, HealthTarget } from '../src/container-spec';
import { HealthCheckFailedError } from '../src/errors';
import { engineError, type Engines } from './engines';

export interface HealthInput {
  nodeId: string;
  container: string;
  target: HealthTarget;
  policy: HealthPolicy;
}

export interface HealthOutcome {
  probes: number;
  elapsedMs: number;
}

/** One probe: undefined when healthy, else what is wrong, in words for the operator. */
type Probe = () => Promise<string | undefined>;

async function probeHttp(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400 ? undefined : `GET ${url} answered ${res.status}`;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return `GET ${url} failed: ${cause ?? (err as Error).message}`;
  }
}

function probeTcp(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`tcp ${host}:${port} timed out after ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`tcp ${host}:${port}: ${err.code ?? err.message}`));
  });
}

/**
 * Runs the probe command in the container. Its output is discarded, never quoted in the
 * reason: it can print anything the container holds, secrets included, and reasons travel
 * into workflow history, status events and logs.
 */
async function probeExec(container: Docker.Container, command: string[], timeoutMs: number): Promise<string | undefined> {
  const what = `exec ${JSON.stringify(command)}`;
  try {
    const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const finished = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
      stream.resume();
    });
    const timedOut = await Promise.race([finished.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
    if (timedOut) {
      stream.destroy();
      return `${what} timed out after ${timeoutMs} ms`;
    }
    const { ExitCode } = await exec.inspect();
    return ExitCode === 0 ? undefined : `${what} exited with ${ExitCode}`;
  } catch (err) {
    // E.g. the container stopped between inspect and exec: a failed probe, not a failed activity,
    // whose retry would start the deadline again.
    const e = err as { json?: { message?: string }; message?: string };
    return `${what} could not run: ${e.json?.message ?? e.message ?? String(err)}`;
  }
}

/** No HEALTHCHECK in the image leaves the test absent or empty; `HEALTHCHECK NONE` makes it ["NONE"]. */
function definesHealthcheck(config: Docker.HealthConfig | undefined): boolean {
  const test = config?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}

export function createHealthActivities(engines: Engines) {
  return {
    /** Waits until the container passes its probe `healthyAfter` times in a row, or fails at the deadline. */
    async waitHealthy({ nodeId, container, target, policy }: HealthInput): Promise<HealthOutcome> {
      const ctx = Context.current();
      const handle = engines.node(nodeId).getContainer(container);
      const started = Date.now();
      let streak = 0;
      let probes = 0;
      let lastProblem = 'never probed';

      const probeFor = (state: Docker.ContainerInspectInfo['State']): Probe => {
        switch (target.kind) {
          case 'http':
            return () => probeHttp(target.url, policy.timeoutMs);
          case 'tcp':
            return () => probeTcp(target.host, target.port, policy.timeoutMs);
          case 'exec':
            return () => probeExec(handle, target.command, policy.timeoutMs);
          case 'docker':
            return async () => {
              const status = state.Health?.Status;
              return status === 'healthy' ? undefined : `Docker health status is ${status ?? 'not reported yet'}`;
            };
          case 'running':
            return async () => undefined;
        }
      };

      for (;;) {
        ctx.heartbeat({ streak, probes, lastProblem });
        let info: Docker.ContainerInspectInfo;
        try {
          info = await handle.inspect();
        } catch (err) {
          throw engineError(nodeId, err, `inspecting ${container}`);
        }
        const state = info.State;
        probes++;
        // Exited and nothing will restart it: it can never become healthy, so waiting for the deadline is pointless.
        if (!state.Running && !state.Restarting && (info.HostConfig.RestartPolicy?.Name ?? 'no') === 'no' && state.Status !== 'created') {
          throw new HealthCheckFailedError(nodeId, container, `container is ${state.Status} (exit code ${state.ExitCode}) and will not be restarted`);
        }
        // Without a HEALTHCHECK the engine never reports a health status, so waiting could not help.
        if (target.kind === 'docker' && !definesHealthcheck(info.Config.Healthcheck)) {
          throw new HealthCheckFailedError(nodeId, container, 'the image defines no HEALTHCHECK, so a "docker" health check can never pass');
        }
        const problem = state.Running && !state.Restarting ? await probeFor(state)() : `container is ${state.Status} (exit code ${state.ExitCode})`;
        if (problem === undefined) {
          streak++;
          if (streak >= policy.healthyAfter) return { probes, elapsedMs: Date.now() - started };
        } else {
          streak = 0;
          lastProblem = problem;
        }
        if (Date.now() - started + policy.intervalMs > policy.deadlineMs) {
          throw new HealthCheckFailedError(nodeId, container, `${lastProblem} (after ${probes} probes in ${Date.now() - started} ms)`);
        }
        await ctx.sleep(policy.intervalMs);
      }
    },
  };
}

export type HealthActivities = ReturnType<typeof createHealthActivities>;
