// Probes that go through a node's Docker Engine: a command run inside a container, and the
// image's own HEALTHCHECK as the engine reports it.
import type Docker from 'dockerode';

/**
 * Runs the probe command in the container. Its output is discarded, never quoted in the
 * reason: it can print anything the container holds, secrets included, and reasons travel
 * into workflow history, status events and logs.
 */
export async function execProbe(container: Docker.Container, command: string[], timeoutMs: number): Promise<string | undefined> {
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
    // E.g. the container stopped between inspect and exec: a failed probe, not a failed
    // activity, whose retry would start the deadline again.
    const e = err as { json?: { message?: string }; message?: string };
    return `${what} could not run: ${e.json?.message ?? e.message ?? String(err)}`;
  }
}

/** No HEALTHCHECK in the image leaves the test absent or empty; `HEALTHCHECK NONE` makes it ["NONE"]. */
export function definesHealthcheck(config: Docker.HealthConfig | undefined): boolean {
  const test = config?.Test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}
