// The health activity of the first workflow shape (workflows/v1/): one container's probe
// until it is healthy. Deployments started before the node seam still call it until they
// end. Retire with workflows/v1/ (see workflows/patches.ts).
import { Context } from '@temporalio/activity';
import { HealthCheckFailedError } from '../../../src/core/errors';
import type { HealthPolicy, HealthTarget } from '../../../workflows/v1/container-spec';
import { httpProbe, tcpProbe } from '../probes';
import { engineError, type Engines } from './engines';
import { definesHealthcheck, execProbe } from './health';

export interface HealthInput {
  nodeId: string;
  container: string;
  target: HealthTarget;
  policy: HealthPolicy;
}

export function createLegacyHealthActivities(engines: Engines) {
  return {
    async waitHealthy({ nodeId, container, target, policy }: HealthInput): Promise<{ probes: number; elapsedMs: number }> {
      const ctx = Context.current();
      const handle = engines.node(nodeId).getContainer(container);
      const started = Date.now();
      let streak = 0;
      let probes = 0;
      let lastProblem = 'never probed';
      for (;;) {
        ctx.heartbeat({ streak, probes, lastProblem });
        const info = await handle.inspect().catch((err: unknown) => {
          throw engineError(nodeId, err, `inspecting ${container}`);
        });
        const state = info.State;
        probes++;
        if (!state.Running && !state.Restarting && (info.HostConfig.RestartPolicy?.Name ?? 'no') === 'no' && state.Status !== 'created') {
          throw new HealthCheckFailedError(nodeId, container, `container is ${state.Status} (exit code ${state.ExitCode}) and will not be restarted`);
        }
        if (target.kind === 'docker' && !definesHealthcheck(info.Config.Healthcheck)) {
          throw new HealthCheckFailedError(nodeId, container, 'the image defines no HEALTHCHECK, so a "docker" health check can never pass');
        }
        let problem: string | undefined;
        if (!state.Running || state.Restarting) problem = `container is ${state.Status} (exit code ${state.ExitCode})`;
        else if (target.kind === 'http') problem = await httpProbe(target.url, policy.timeoutMs)();
        else if (target.kind === 'tcp') problem = await tcpProbe(target.host, target.port, policy.timeoutMs)();
        else if (target.kind === 'exec') problem = await execProbe(handle, target.command, policy.timeoutMs);
        else if (target.kind === 'docker') problem = state.Health?.Status === 'healthy' ? undefined : `Docker health status is ${state.Health?.Status ?? 'not reported yet'}`;
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

export type HealthActivities = ReturnType<typeof createLegacyHealthActivities>;
