// Every container option of the contract, carried out on real fog-node engines: files,
// env, named volumes, the three network modes with ports, restart policies, resource
// limits, and the four kinds of health check. Each point is seen from inside the container
// (what the process reads, what `docker exec` shows) and from `docker inspect`.
import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { StatusEvent } from '../../src/core/schemas/event';
import type { Inventory } from '../../src/core/schemas/inventory';
import { containersOf, httpGet, removeApplication, startDeployer, waitFor, type TestDeployer } from '../support/deployer';

jest.setTimeout(180_000);

type Node = Inventory['nodes'][number];

const stamp = Date.now().toString(36);
const apps = new Set<string>();
const volumes: { node: Node; name: string }[] = [];
let d: TestDeployer;
let node: Node;
let busybox: string;

beforeAll(async () => {
  d = await startDeployer('container-options');
  node = d.inventory.nodes[0]!;
  busybox = `${d.inventory.registry.pull}/busybox:1`;
});

afterAll(async () => {
  if (!d) return;
  for (const app of apps) await removeApplication(d, app);
  for (const v of volumes) await d.engines.node(v.node.id).getVolume(v.name).remove().catch(() => undefined);
  await d.stop();
});

/** A unique application name per point, so that runs and points never meet on a node. */
function appName(point: string): string {
  const app = `it-opt-${stamp}-${point}`;
  apps.add(app);
  return app;
}

interface Deployed {
  events: StatusEvent[];
  last: StatusEvent;
  elapsedMs: number;
  /** The deployment's container on the first node. */
  container: Docker.Container;
  name: string;
}

/** Sends a Deploy request (prebuilt busybox unless `application` says otherwise) and waits for its end. */
async function deploy(app: string, version: string, fields: Record<string, unknown>, application: Record<string, unknown> = { image: busybox }): Promise<Deployed> {
  const deploymentId = `${app}-${version}`;
  const started = Date.now();
  await d.send({ kind: 'Deploy', deploymentId, application: { name: app, version, ...application }, nodes: [node.id], ...fields });
  const events = await d.terminal(deploymentId);
  const elapsedMs = Date.now() - started;
  const name = (await containersOf(d, app))[node.id]!.find((c) => c.deploymentId === deploymentId)?.name ?? '';
  return { events, last: events.at(-1)!, elapsedMs, container: d.engines.node(node.id).getContainer(name), name };
}

/** Runs a command in a running container, as `docker exec` does, and returns its exit code and output. */
async function execIn(container: Docker.Container, command: string[]): Promise<{ exitCode: number | null; output: string }> {
  const exec = await container.exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const output = new PassThrough();
  const chunks: Buffer[] = [];
  output.on('data', (c: Buffer) => chunks.push(c));
  d.engines.node(node.id).modem.demuxStream(stream, output, output);
  await new Promise<void>((done) => {
    stream.on('end', done);
    stream.on('close', done);
  });
  return { exitCode: (await exec.inspect()).ExitCode, output: Buffer.concat(chunks).toString('utf8') };
}

/** A shell command that serves /www on a port and exits cleanly on SIGTERM (busybox httpd as PID 1 would ignore it). */
const serve = (port: number) => `trap 'exit 0' TERM; httpd -f -p ${port} -h /www & wait`;
const fast = { intervalMs: 200, timeoutMs: 1000, deadlineMs: 15_000 };

describe('container options on the real fog nodes', () => {
  it('delivers files, with their requested modes, into the container before its command starts', async () => {
    const app = appName('files');
    const port = 18150;
    const config = '{"intervalSeconds": 5}';
    // The command is itself a delivered file: the container could not even start without it.
    const startScript = [
      '#!/bin/sh',
      'mkdir -p /www',
      'cp /etc/app/config.json /www/config.json',
      'stat -c %a /etc/app/config.json > /www/config.mode',
      'stat -c %a /usr/local/bin/start > /www/start.mode',
      serve(port),
      '',
    ].join('\n');
    const { last, container } = await deploy(
      app,
      'v1',
      {
        container: {
          command: ['/usr/local/bin/start'],
          files: [
            { path: '/etc/app/config.json', content: config, mode: 0o640 },
            { path: '/usr/local/bin/start', content: startScript, mode: 0o755 },
            { path: '/tmp/seed/note.txt', content: 'below /tmp' },
          ],
        },
        healthCheck: { http: { port, path: '/config.json' }, ...fast },
      },
      { source: { context: resolve(__dirname, '../fixtures/apps/sticky-tmp') } },
    );
    expect(last.phase).toBe('Succeeded');
    expect(await httpGet(`http://${node.address}:${port}/config.json`)).toEqual({ status: 200, body: config });
    expect(await httpGet(`http://${node.address}:${port}/config.mode`)).toEqual({ status: 200, body: '640\n' });
    expect(await httpGet(`http://${node.address}:${port}/start.mode`)).toEqual({ status: 200, body: '755\n' });
    // A file's parent directories that the image already has keep their own mode and owner.
    expect(await execIn(container, ['stat', '-c', '%a %u', '/tmp', '/tmp/seed/note.txt'])).toEqual({ exitCode: 0, output: '1777 0\n644 0\n' });
  });

  it('gives the container process exactly the requested environment variables', async () => {
    const app = appName('env');
    const env = { GREETING: 'hello = world', EMPTY: '', MULTI_LINE: 'one\ntwo' };
    const { last, container } = await deploy(app, 'v1', { container: { command: ['sleep', '600'], env } });
    expect(last.phase).toBe('Succeeded');
    // PID 1's own environment: what the application process was started with.
    const { output } = await execIn(container, ['cat', '/proc/1/environ']);
    const seen = output.split('\0').filter(Boolean);
    expect(seen).toEqual(expect.arrayContaining(['GREETING=hello = world', 'EMPTY=', 'MULTI_LINE=one\ntwo']));
  });

  it('keeps the data v1 wrote in a named volume for v2, which mounts it read-only', async () => {
    const app = appName('volume');
    const volume = `${app}-data`;
    volumes.push({ node, name: volume });
    const v1 = await deploy(app, 'v1', {
      container: {
        command: ['sh', '-c', `echo "written by v1" > /data/note; trap 'exit 0' TERM; sleep 600 & wait`],
        volumes: [{ name: volume, target: '/data' }],
      },
      healthCheck: { exec: { command: ['test', '-s', '/data/note'] }, ...fast },
    });
    expect(v1.last.phase).toBe('Succeeded');

    const v2 = await deploy(app, 'v2', {
      container: {
        command: [
          'sh',
          '-c',
          `cat /data/note > /tmp/seen; if touch /data/probe 2>/dev/null; then echo writable; else echo read-only; fi > /tmp/mount; trap 'exit 0' TERM; sleep 600 & wait`,
        ],
        volumes: [{ name: volume, target: '/data', readOnly: true }],
      },
      healthCheck: { exec: { command: ['test', '-s', '/tmp/mount'] }, ...fast },
    });
    expect(v2.last.phase).toBe('Succeeded');
    expect(await execIn(v2.container, ['cat', '/tmp/seen', '/tmp/mount'])).toEqual({ exitCode: 0, output: 'written by v1\nread-only\n' });
    const { Mounts } = await v2.container.inspect();
    expect(Mounts).toEqual([expect.objectContaining({ Type: 'volume', Name: volume, Destination: '/data', RW: false })]);
  });

  it('publishes a bridged container port on the node address at its host port, where the http check and clients reach it', async () => {
    const app = appName('bridge');
    const hostPort = 18152;
    const { last, container } = await deploy(app, 'v1', {
      container: {
        command: ['sh', '-c', `mkdir -p /www && ip -o -4 addr show eth0 > /www/addr && ${serve(80)}`],
        network: 'bridge',
        ports: [{ container: 80, host: hostPort }],
      },
      healthCheck: { http: { port: 80, path: '/addr' }, ...fast },
    });
    expect(last.phase).toBe('Succeeded');
    const answer = await httpGet(`http://${node.address}:${hostPort}/addr`);
    // The container has its own address on the node's bridge, not the node's.
    expect(answer).toMatchObject({ status: 200, body: expect.stringMatching(/inet 10\.78\.\d+\.\d+\//) });
    expect((answer as { body: string }).body).not.toContain(node.address);
    // Only the binding is published: the container port itself stays inside the container.
    expect(await httpGet(`http://${node.address}:80/addr`)).toHaveProperty('error');
    const inspect = await container.inspect();
    expect(inspect.HostConfig.NetworkMode).toBe('bridge');
    expect(inspect.NetworkSettings.Ports['80/tcp']).toEqual(expect.arrayContaining([expect.objectContaining({ HostPort: String(hostPort) })]));
  });

  it('gives a container on network "none" only its loopback interface', async () => {
    const app = appName('none');
    const { last, container } = await deploy(app, 'v1', {
      container: { command: ['sleep', '600'], network: 'none' },
      healthCheck: { exec: { command: ['sh', '-c', 'test "$(ls /sys/class/net)" = lo'] }, ...fast },
    });
    expect(last.phase).toBe('Succeeded');
    expect(await execIn(container, ['ls', '/sys/class/net'])).toEqual({ exitCode: 0, output: 'lo\n' });
  });

  it('runs a container on the node host network by default, where it sees the node address', async () => {
    const app = appName('host');
    const { last, container } = await deploy(app, 'v1', { container: { command: ['sleep', '600'] } });
    expect(last.phase).toBe('Succeeded');
    expect((await container.inspect()).HostConfig.NetworkMode).toBe('host');
    expect((await execIn(container, ['ip', '-o', '-4', 'addr'])).output).toContain(` ${node.address}/`);
  });

  it('restarts a container that exits non-zero under "on-failure" and leaves it exited under "no"', async () => {
    // Runs long enough to pass the "running" check on a loaded machine, then fails.
    const crash = ['sh', '-c', 'sleep 5; exit 3'];
    const [onFailure, never] = await Promise.all([
      deploy(appName('on-failure'), 'v1', { container: { command: crash, restartPolicy: 'on-failure' } }),
      deploy(appName('no-restart'), 'v1', { container: { command: crash, restartPolicy: 'no' } }),
    ]);
    expect([onFailure.last.phase, never.last.phase]).toEqual(['Succeeded', 'Succeeded']);

    await waitFor('a restart under on-failure', async () => ((await onFailure.container.inspect()).RestartCount > 0 ? true : undefined), 40_000);
    const stopped = await waitFor('the exit under "no"', async () => {
      const info = await never.container.inspect();
      return info.State.Status === 'exited' ? info : undefined;
    }, 40_000);
    expect({ exitCode: stopped.State.ExitCode, restarts: stopped.RestartCount, policy: stopped.HostConfig.RestartPolicy?.Name }).toEqual({ exitCode: 3, restarts: 0, policy: 'no' });
  });

  it('limits memory and CPU as requested, visible in docker inspect and in the container cgroup', async () => {
    const app = appName('resources');
    const { last, container } = await deploy(app, 'v1', { container: { command: ['sleep', '600'], resources: { memoryMb: 48, cpus: 0.5 } } });
    expect(last.phase).toBe('Succeeded');
    const { HostConfig } = await container.inspect();
    expect({ memory: HostConfig.Memory, nanoCpus: HostConfig.NanoCpus }).toEqual({ memory: 48 * 1024 * 1024, nanoCpus: 500_000_000 });
    // cgroup v2 and v1 name the same limits differently; the node engine may use either.
    const memory = await execIn(container, ['sh', '-c', 'cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes']);
    expect(memory.output.trim()).toBe(String(48 * 1024 * 1024));
    const cpu = await execIn(container, ['sh', '-c', 'cat /sys/fs/cgroup/cpu.max 2>/dev/null || echo "$(cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us) $(cat /sys/fs/cgroup/cpu/cpu.cfs_period_us)"']);
    expect(cpu.output.trim()).toBe('50000 100000');
  });

  it('passes an exec health check once the command exits 0 inside the container', async () => {
    const app = appName('exec-ok');
    const { last, events, container } = await deploy(app, 'v1', {
      container: { command: ['sh', '-c', "sleep 3; touch /tmp/ready; trap 'exit 0' TERM; sleep 600 & wait"] },
      // Each probe writes down what it answered, so the container itself says how it was asked.
      healthCheck: { exec: { command: ['sh', '-c', 'if test -f /tmp/ready; then echo pass >> /tmp/probes; else echo fail >> /tmp/probes; exit 1; fi'] }, ...fast, healthyAfter: 2 },
    });
    expect(last.phase).toBe('Succeeded');
    expect(events.map((e) => e.message)).toContain('waiting for exec health check (2 in a row within 15000 ms)');
    // Probed while /tmp/ready was missing for three seconds: failures first, then exactly two passes in a row.
    const probes = (await execIn(container, ['cat', '/tmp/probes'])).output.trim().split('\n');
    expect(probes).toContain('fail');
    expect(probes.slice(probes.lastIndexOf('fail') + 1)).toEqual(['pass', 'pass']);
  });

  it('rolls a deployment back, naming the command, when its exec health check keeps failing', async () => {
    const app = appName('exec-bad');
    const { last } = await deploy(app, 'v1', {
      container: { command: ['sleep', '600'] },
      healthCheck: { exec: { command: ['sh', '-c', 'printf "%s%s" probe output >&2; exit 7'] }, intervalMs: 200, timeoutMs: 1000, deadlineMs: 2000 },
    });
    expect(last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining('exec ["sh","-c","printf \\"%s%s\\" probe output >&2; exit 7"] exited with 7') });
    // What the probe printed stays in the container: it could be anything the container holds.
    expect(last.message).not.toContain('probeoutput');
    expect((await containersOf(d, app))[node.id]).toEqual([]);
  });

  it('passes a docker health check when the image HEALTHCHECK reports healthy', async () => {
    const app = appName('docker-ok');
    const port = 18154;
    const { last, container } = await deploy(
      app,
      'v1',
      { container: { env: { PORT: String(port) } }, healthCheck: { docker: {}, intervalMs: 250, deadlineMs: 20_000 } },
      { source: { context: resolve(__dirname, '../fixtures/apps/healthcheck') } },
    );
    expect(last.phase).toBe('Succeeded');
    expect((await container.inspect()).State.Health?.Status).toBe('healthy');
    expect(await httpGet(`http://${node.address}:${port}/`)).toEqual({ status: 200, body: 'healthy by its own HEALTHCHECK\n' });
  });

  it('rolls a docker health check back at once when the image defines no HEALTHCHECK', async () => {
    const app = appName('docker-none');
    const { last, elapsedMs } = await deploy(app, 'v1', { container: { command: ['sleep', '600'] }, healthCheck: { docker: {}, intervalMs: 200, deadlineMs: 60_000 } });
    expect(last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining('the image defines no HEALTHCHECK') });
    // Waiting could never help, so it does not wait for the 60 s deadline.
    expect(elapsedMs).toBeLessThan(20_000);
  });

  it('passes a tcp health check once the port accepts connections, and names the port when it never does', async () => {
    const port = 18153;
    const ok = await deploy(appName('tcp-ok'), 'v1', {
      container: { command: ['sh', '-c', `sleep 1; mkdir -p /www && ${serve(port)}`] },
      healthCheck: { tcp: { port }, ...fast },
    });
    expect(ok.last.phase).toBe('Succeeded');
    const bad = await deploy(appName('tcp-bad'), 'v1', {
      container: { command: ['sleep', '600'] },
      healthCheck: { tcp: { port: 18159 }, intervalMs: 200, timeoutMs: 1000, deadlineMs: 2000 },
    });
    expect(bad.last).toMatchObject({ phase: 'RolledBack', message: expect.stringContaining(`tcp ${node.address}:18159: ECONNREFUSED`) });
  });
});
