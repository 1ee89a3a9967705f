// Commands run once on a Docker Engine, with what they print: a one-shot container (a
// configuration check, a test container), removed afterwards whatever happened, and a
// command run in a running container (an exec test). Output is captured whole up to a bound
// and handed back for judging and redaction; it is never logged here.
import type Docker from 'dockerode';
import type { RunOutput } from '../../../src/core/deployment-tests';
import type { EngineContainer } from '../../../src/core/renderers/docker-engine';
import type { SecretProvider } from '../../control/secrets';
import { OutputCollector } from '../output';
import { createWithFiles, ensureImage, removeContainers } from './containers';
import { engineError, statusOf } from './engines';


/** The frames of a non-TTY container's log (stream byte, three zero bytes, big-endian length, payload), joined. */
export function demuxLog(buffer: Buffer): string {
  const out = new OutputCollector();
  let i = 0;
  while (i + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(i + 4);
    out.add(buffer.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return out.output;
}

const timer = (ms: number) => new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref());

/** Something the engine said, without dockerode's "(HTTP code …) …" wrapping. */
const engineSays = (err: unknown) => (err as { json?: { message?: string } }).json?.message ?? (err as Error).message ?? String(err);

/**
 * Creates the container (files and secrets delivered before it starts), starts it and waits
 * for it to exit within `timeoutMs`; its exit code and output (stdout and stderr as they came).
 * A leftover of an earlier attempt is removed first, and this one afterwards, whatever happened.
 * An image that cannot be pulled or a container the engine refuses is the run's problem; an
 * engine that cannot be reached fails the call.
 */
export async function runOnce(docker: Docker, nodeId: string, spec: EngineContainer, secrets: SecretProvider, timeoutMs: number): Promise<RunOutput> {
  const image = spec.create.Image!;
  try {
    await ensureImage(docker, nodeId, image);
  } catch (err) {
    if ((err as Error).name === 'ImageNotFoundError' || (err as Error).name === 'RegistryError') return { output: '', problem: `could not pull ${image}: ${(err as Error).message}` };
    throw err;
  }
  const remove = () => removeContainers(docker, [spec.name]).catch((err: unknown) => {
    throw engineError(nodeId, err, `removing ${spec.name}`);
  });
  await remove();
  try {
    await createWithFiles(docker, nodeId, spec, secrets);
    const container = docker.getContainer(spec.name);
    // Asked for before the start, so that an exit right after it is not missed.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    // Removed below while still waited for, the wait ends in an error nobody needs.
    exited.catch(() => undefined);
    try {
      await container.start();
    } catch (err) {
      if (statusOf(err) === undefined) throw engineError(nodeId, err, `starting ${spec.name}`);
      return { output: '', problem: `could not start: ${engineSays(err)}` };
    }
    const ended = await Promise.race([exited, timer(timeoutMs)]);
    const log = (await container.logs({ stdout: true, stderr: true, follow: false })) as unknown as Buffer;
    const output = demuxLog(log);
    if (ended === 'timeout') return { output, problem: `it did not finish within ${timeoutMs} ms` };
    return { exitCode: ended.StatusCode, output };
  } catch (err) {
    if ((err as Error).name === 'InvalidContainerError') return { output: '', problem: (err as Error).message };
    throw err;
  } finally {
    await remove();
  }
}

/** Runs `command` in the running container within `timeoutMs`: its exit code and output. */
export async function execIn(container: Docker.Container, command: string[], timeoutMs: number): Promise<RunOutput> {
  const out = new OutputCollector();
  try {
    const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const sink = out.sink();
    container.modem.demuxStream(stream, sink, sink);
    const finished = new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    if ((await Promise.race([finished, timer(timeoutMs)])) === 'timeout') {
      stream.destroy();
      return { output: out.output, problem: `it did not finish within ${timeoutMs} ms` };
    }
    const { ExitCode } = await exec.inspect();
    return ExitCode === null || ExitCode === undefined ? { output: out.output, problem: 'the engine reported no exit code' } : { exitCode: ExitCode, output: out.output };
  } catch (err) {
    return { output: out.output, problem: `could not run: ${engineSays(err)}` };
  }
}
