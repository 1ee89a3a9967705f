// The Docker Engine renderer: a node's intent as the Engine API's create-container bodies
// (POST /containers/create, API 1.41), one per replica, with their names and labels, and
// where a probe reaches a container port. Pure, so that it is tested by equality; the
// Docker Engine target only carries these bodies out.
import type { ContainerCreateOptions } from 'dockerode';
import { testContainerEnv, type ContainerTest } from '../deployment-tests';
import type { IntentFile, NodeIntent } from '../intent';
import { LABELS } from '../labels';
import { privilegedHostConfig } from '../node-policy';
import { hostPortClaims } from '../ports';

/** FNV-1a, 32 bit: a short stable fingerprint, deterministic anywhere. */
export function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Deterministic container name, so that an apply run twice finds its own earlier work.
 * Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]`; deployment ids may hold ":", so the name
 * carries a fingerprint of the exact id to keep distinct ids distinct.
 */
export function containerName(application: string, deploymentId: string, replica: number): string {
  return `${application}--${deploymentId.replace(/:/g, '_')}--${fingerprint(deploymentId)}--r${replica}`;
}

export interface EngineContainer {
  name: string;
  /** Body of POST /containers/create, without the name. */
  create: ContainerCreateOptions;
  /** Delivered into the container after it is created and before it starts. */
  files: IntentFile[];
  /** Resolved by the secret provider at delivery; only references here. */
  secrets: { ref: string; path: string }[];
}

/** One container port may be published on several host ports: the engine takes a list per port. */
function portBindings(ports: NodeIntent['ports']): Record<string, { HostPort: string }[]> {
  const bindings: Record<string, { HostPort: string }[]> = {};
  for (const p of ports) (bindings[`${p.container}/${p.protocol}`] ??= []).push({ HostPort: String(p.host) });
  return bindings;
}

/** The engine counts the stop grace period in whole seconds. */
const stopSeconds = (ms: number) => Math.ceil(ms / 1000);

/** `previous`: the application's containers running on the node now, which these replace; `mark`: the apply that makes them. */
export function renderContainers(intent: NodeIntent, previous: readonly string[], mark?: string): EngineContainer[] {
  const bridged = intent.network === 'bridge';
  const published = bridged && intent.ports.length > 0;
  const claims = hostPortClaims(intent).join(',');
  return Array.from({ length: intent.replicas }, (_, replica) => {
    const create: ContainerCreateOptions = {
      Image: intent.image,
      // A secret's value is never in the environment (docker inspect shows it); its file's path is.
      Env: [...Object.entries(intent.env).map(([k, v]) => `${k}=${v}`), ...intent.secrets.map((s) => `${s.name}_FILE=${s.path}`)],
      Labels: {
        [LABELS.managed]: 'true',
        [LABELS.application]: intent.application,
        [LABELS.version]: intent.version,
        [LABELS.deployment]: intent.deploymentId,
        [LABELS.replica]: String(replica),
        [LABELS.previous]: previous.join(','),
        [LABELS.restartPolicy]: intent.restartPolicy,
        ...(claims !== '' ? { [LABELS.ports]: claims } : {}),
        ...(mark !== undefined ? { [LABELS.apply]: mark } : {}),
      },
      StopTimeout: stopSeconds(intent.stop.gracePeriodMs),
      ...(intent.stop.signal !== undefined ? { StopSignal: intent.stop.signal } : {}),
      HostConfig: {
        NetworkMode: intent.network,
        RestartPolicy: { Name: intent.restartPolicy },
        ...(intent.init ? { Init: true } : {}),
        // With host networking the container's ports are the node's; bindings apply only to a bridge.
        ...(published ? { PortBindings: portBindings(intent.ports) } : {}),
        ...(intent.volumes.length > 0 ? { Mounts: intent.volumes.map((v) => ({ Type: 'volume' as const, Source: v.name, Target: v.target, ReadOnly: v.readOnly })) } : {}),
        ...(intent.resources?.memoryMb !== undefined ? { Memory: intent.resources.memoryMb * 1024 * 1024 } : {}),
        ...(intent.resources?.cpus !== undefined ? { NanoCpus: Math.round(intent.resources.cpus * 1e9) } : {}),
        ...privilegedHostConfig(intent.access),
      },
    };
    if (intent.command !== undefined) create.Cmd = intent.command;
    if (published) create.ExposedPorts = Object.fromEntries(intent.ports.map((p) => [`${p.container}/${p.protocol}`, {}]));
    return {
      name: containerName(intent.application, intent.deploymentId, replica),
      create,
      files: intent.files,
      secrets: intent.secrets.map((s) => ({ ref: s.ref, path: s.path })),
    };
  });
}

/** What a one-shot container of the Deployer is for; it is not an instance of the application, so it has no `managed` label. */
export const ONE_SHOT_ROLES = { configCheck: 'config-check', test: 'test' } as const;

function oneShotLabels(intent: NodeIntent, role: string): Record<string, string> {
  return { [LABELS.role]: role, [LABELS.application]: intent.application, [LABELS.version]: intent.version, [LABELS.deployment]: intent.deploymentId };
}

/** Deterministic, so that a check or test run again after a crash finds and replaces its leftover. */
export function oneShotName(intent: NodeIntent, what: string): string {
  return `${intent.application}--${intent.deploymentId.replace(/:/g, '_')}--${fingerprint(intent.deploymentId)}--${what}`;
}

/**
 * The configuration check: the application's first container as the intent makes it (image,
 * env, files, secrets, mounts), running the check's command once instead, never restarted,
 * with no port published, so that it runs beside the version it is to replace.
 */
export function renderConfigCheck(intent: NodeIntent): EngineContainer {
  const [first] = renderContainers({ ...intent, replicas: 1 }, []);
  const create = { ...first!.create, Cmd: intent.configCheck!.command, Labels: oneShotLabels(intent, ONE_SHOT_ROLES.configCheck) };
  const host = { ...create.HostConfig, RestartPolicy: { Name: 'no' as const } };
  delete create.ExposedPorts;
  delete host.PortBindings;
  return { ...first!, name: oneShotName(intent, 'config-check'), create: { ...create, HostConfig: host } };
}

/**
 * A test container on the node, against the new version: on the node's network when the
 * application is (it reaches it at 127.0.0.1), else on the engine's bridge (it reaches it at
 * the node's address). It is told where and what it tests in DEPLOYER_* variables; its
 * secrets are files, as an application's.
 */
export function renderTestContainer(intent: NodeIntent, test: ContainerTest, nodeAddress: string): EngineContainer {
  const host = intent.network === 'host';
  const env = testContainerEnv(intent, test, nodeAddress);
  return {
    name: oneShotName(intent, `test-${test.name}`),
    create: {
      Image: test.image,
      Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...test.secrets.map((s) => `${s.name}_FILE=${s.path}`)],
      Labels: oneShotLabels(intent, ONE_SHOT_ROLES.test),
      ...(test.command !== undefined ? { Cmd: test.command } : {}),
      HostConfig: { NetworkMode: host ? 'host' : 'bridge', RestartPolicy: { Name: 'no' } },
    },
    files: [],
    secrets: test.secrets.map((s) => ({ ref: s.ref, path: s.path })),
  };
}
