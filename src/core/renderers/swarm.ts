// The Swarm renderer: a node's intent as a Docker Swarm service spec (POST /services/create
// and /services/{id}/update, Engine API 1.41), placed on exactly that node, with the
// configs that carry its files and the secrets it references. One service per application
// and node: the saga acts on, verifies and restores each node on its own, and a service's
// spec history (Swarm keeps the previous spec) is then exactly that node's history.
// Pure, so that it is tested by equality; the Swarm target only carries the spec out.
import { testContainerEnv, type ContainerTest } from '../deployment-tests';
import { InvalidContainerError } from '../errors';
import type { IntentFile, NodeIntent } from '../intent';
import { LABELS } from '../labels';
import { hostPortClaims } from '../ports';
import { sha256 } from '../sha256';
import { fingerprint, ONE_SHOT_ROLES } from './docker-engine';

/** Labels only the Swarm target writes, beside the common ones. */
export const SWARM_LABELS = {
  /** The swarm node (its hostname) a service is placed on. */
  node: 'io.deployer.node',
  /** On a service scaled to 0 by `stop`: the replicas a restore puts back. */
  stoppedReplicas: 'io.deployer.stopped-replicas',
  /** On a config or secret: the deployment it was made for. */
  deployment: LABELS.deployment,
} as const;

/** Swarm object names: `[a-zA-Z0-9][a-zA-Z0-9_.-]`, at most 63 characters for a service, 64 for a config or secret. */
const MAX_NAME = 63;

function bounded(name: string): string {
  if (name.length <= MAX_NAME) return name;
  return `${name.slice(0, MAX_NAME - 10)}--${fingerprint(name)}`;
}

/** The service of `application` on the swarm node `hostname`: deterministic, so a verb run again finds it. */
export function serviceName(application: string, hostname: string): string {
  return bounded(`${application}--${hostname}`);
}

/**
 * The name of a config or secret: the application's name (cut, for whoever reads
 * `docker config ls`), a letter for what it holds, and 128 bits of the SHA-256 of everything
 * that tells it apart. Collision-free, unlike a 32-bit fingerprint of a deployment id, which
 * a request author can choose to match another deployment's (and bounded() cuts long names
 * to a fingerprint too); whose an object of the name is, its labels say (src/core/ownership.ts).
 * At most 26 + 3 + 32 = 61 characters: within a config's or secret's 64.
 */
function objectName(kind: 'f' | 's' | 't', application: string, deploymentId: string, ...parts: string[]): string {
  return `${application.slice(0, 26)}--${kind}${sha256(JSON.stringify([kind, application, deploymentId, ...parts])).slice(0, 32)}`;
}

/** A config holding one file of a deployment; configs are immutable, so a new deployment makes new ones. */
export function configName(application: string, deploymentId: string, file: Pick<IntentFile, 'path'>): string {
  return objectName('f', application, deploymentId, file.path);
}

/** A secret of a deployment, by the request's name for it; its value is read only when the target creates it. */
export function secretName(application: string, deploymentId: string, name: string): string {
  return objectName('s', application, deploymentId, name);
}

export interface SwarmConfigBody {
  Name: string;
  Labels: Record<string, string>;
  /** The file's content (the target sends it base64, as the API wants it). */
  content: string;
}

export interface SwarmSecretBody {
  Name: string;
  Labels: Record<string, string>;
  /** For the secret provider: the value is resolved only inside the activity that creates the secret. */
  ref: string;
}

export interface SwarmServiceSpec {
  Name: string;
  Labels: Record<string, string>;
  TaskTemplate: {
    ContainerSpec: Record<string, unknown>;
    Resources?: { Limits: { MemoryBytes?: number; NanoCPUs?: number } };
    RestartPolicy: { Condition: 'none' | 'on-failure' | 'any'; Delay: number };
    Placement: { Constraints: string[] };
    Networks?: { Target: string }[];
  };
  Mode: { Replicated: { Replicas: number } };
  UpdateConfig: Record<string, unknown>;
  EndpointSpec: { Mode: 'dnsrr'; Ports?: { Protocol: 'tcp' | 'udp'; TargetPort: number; PublishedPort: number; PublishMode: 'host' }[] };
}

export interface SwarmService {
  name: string;
  spec: SwarmServiceSpec;
  configs: SwarmConfigBody[];
  secrets: SwarmSecretBody[];
}

/**
 * A one-shot service (a configuration check, a test container): a replicated job of one task
 * (Engine API 1.41), which Swarm runs once to its end and never restarts. Jobs take no
 * update configuration.
 */
export interface SwarmJobSpec extends Omit<SwarmServiceSpec, 'Mode' | 'UpdateConfig'> {
  Mode: { ReplicatedJob: { MaxConcurrent: 1; TotalCompletions: 1 } };
}

export interface SwarmJob {
  name: string;
  spec: SwarmJobSpec;
  configs: SwarmConfigBody[];
  secrets: SwarmSecretBody[];
}

const RESTART: Record<NodeIntent['restartPolicy'], SwarmServiceSpec['TaskTemplate']['RestartPolicy']['Condition']> = {
  no: 'none',
  'on-failure': 'on-failure',
  always: 'any',
  'unless-stopped': 'any',
};

const NS_PER_MS = 1_000_000;

/**
 * What a Swarm service cannot do that a bare engine can: refused with the reason, before
 * anything is created. (Swarm services have no privileged mode, no devices and no host
 * PID or IPC namespace.)
 */
export function swarmProblems(intent: NodeIntent): string[] {
  const problems: string[] = [];
  if (intent.access.privileged) problems.push('privileged: Swarm services cannot run privileged');
  if (intent.access.devices.length > 0) problems.push('devices: Swarm services cannot be given host devices');
  if (intent.access.pid === 'host') problems.push('pid "host": Swarm services cannot share the host PID namespace');
  if (intent.access.ipc === 'host') problems.push('ipc "host": Swarm services cannot share the host IPC namespace');
  return problems;
}

/** The service that runs `intent` on the swarm node `hostname`. Throws InvalidContainerError for what a service cannot do. */
export function renderService(intent: NodeIntent, hostname: string): SwarmService {
  const problems = swarmProblems(intent);
  if (problems.length > 0) throw new InvalidContainerError(`on a Swarm node: ${problems.join('; ')}`);
  const name = serviceName(intent.application, hostname);
  const owned = { [LABELS.managed]: 'true', [LABELS.application]: intent.application, [SWARM_LABELS.deployment]: intent.deploymentId };
  const configs = intent.files.map((f) => ({ file: f, body: { Name: configName(intent.application, intent.deploymentId, f), Labels: owned, content: f.content } }));
  const secrets = intent.secrets.map((s) => ({ secret: s, body: { Name: secretName(intent.application, intent.deploymentId, s.name), Labels: owned, ref: s.ref } }));
  const claims = hostPortClaims(intent).join(',');
  const probe = intent.health.probe;
  const { policy } = intent.health;
  const containerSpec: Record<string, unknown> = {
    Image: intent.image,
    ...(intent.command !== undefined ? { Args: intent.command } : {}),
    // A secret's value is never in the environment (service inspect shows it); its file's path is.
    Env: [...Object.entries(intent.env).map(([k, v]) => `${k}=${v}`), ...intent.secrets.map((s) => `${s.name}_FILE=${s.path}`)],
    // On every task's container too: `docker ps` on the node tells whose it is.
    Labels: { [LABELS.managed]: 'true', [LABELS.application]: intent.application, [LABELS.version]: intent.version, [LABELS.deployment]: intent.deploymentId },
    StopGracePeriod: intent.stop.gracePeriodMs * NS_PER_MS,
    ...(intent.stop.signal !== undefined ? { StopSignal: intent.stop.signal } : {}),
    ...(intent.init ? { Init: true } : {}),
    ...(intent.access.capabilities.length > 0 ? { CapabilityAdd: intent.access.capabilities.map((c) => `CAP_${c}`) } : {}),
    ...(intent.volumes.length + intent.access.mounts.length > 0
      ? {
          Mounts: [
            ...intent.volumes.map((v) => ({ Type: 'volume', Source: v.name, Target: v.target, ReadOnly: v.readOnly })),
            ...intent.access.mounts.map((m) => ({ Type: 'bind', Source: m.source, Target: m.target, ReadOnly: m.readOnly })),
          ],
        }
      : {}),
    ...(configs.length > 0
      ? { Configs: configs.map(({ file, body }) => ({ File: { Name: file.path, UID: '0', GID: '0', Mode: file.mode }, ConfigName: body.Name })) }
      : {}),
    // Relative names land in /run/secrets, where the intent says a secret is.
    ...(secrets.length > 0
      ? { Secrets: secrets.map(({ secret, body }) => ({ File: { Name: secret.name, UID: '0', GID: '0', Mode: 0o400 }, SecretName: body.Name })) }
      : {}),
    // An exec health check becomes the task's own: Swarm holds a task in "starting" until it
    // passes. Swarm replaces a task once it is unhealthy, so failures are allowed up to the
    // deadline; the Deployer's verification fails the node at the deadline itself.
    ...(probe.kind === 'exec'
      ? { Healthcheck: { Test: ['CMD', ...probe.command], Interval: policy.intervalMs * NS_PER_MS, Timeout: policy.timeoutMs * NS_PER_MS, Retries: Math.max(1, Math.ceil(policy.deadlineMs / policy.intervalMs)) } }
      : {}),
  };
  const spec: SwarmServiceSpec = {
    Name: name,
    Labels: {
      [LABELS.managed]: 'true',
      [LABELS.application]: intent.application,
      [LABELS.version]: intent.version,
      [LABELS.deployment]: intent.deploymentId,
      [LABELS.restartPolicy]: intent.restartPolicy,
      [SWARM_LABELS.node]: hostname,
      ...(claims !== '' ? { [LABELS.ports]: claims } : {}),
    },
    TaskTemplate: {
      ContainerSpec: containerSpec,
      ...(intent.resources !== undefined
        ? {
            Resources: {
              Limits: {
                ...(intent.resources.memoryMb !== undefined ? { MemoryBytes: intent.resources.memoryMb * 1024 * 1024 } : {}),
                ...(intent.resources.cpus !== undefined ? { NanoCPUs: Math.round(intent.resources.cpus * 1e9) } : {}),
              },
            },
          }
        : {}),
      RestartPolicy: { Condition: RESTART[intent.restartPolicy], Delay: 0 },
      // Exactly the node the Scheduler chose.
      Placement: { Constraints: [`node.hostname==${hostname}`] },
      // "host" and "none" are the node's own networks; without a network a task joins the engine's bridge.
      ...(intent.network !== 'bridge' ? { Networks: [{ Target: intent.network }] } : {}),
    },
    Mode: { Replicated: { Replicas: intent.replicas } },
    // All of the node's tasks at once, old ones stopped first (a host port cannot be held twice);
    // the Deployer verifies and rolls back itself, so Swarm neither waits nor reverts.
    UpdateConfig: { Parallelism: 0, Order: 'stop-first', FailureAction: 'continue', Monitor: NS_PER_MS },
    // No virtual IP: without IPVS it cannot work, and published ports are the node's own (host mode).
    EndpointSpec: {
      Mode: 'dnsrr',
      ...(intent.network === 'bridge' && intent.ports.length > 0
        ? { Ports: intent.ports.map((p) => ({ Protocol: p.protocol, TargetPort: p.container, PublishedPort: p.host, PublishMode: 'host' as const })) }
        : {}),
    },
  };
  return { name, spec, configs: configs.map((c) => c.body), secrets: secrets.map((s) => s.body) };
}

/**
 * A one-shot service of a deployment on a node: deterministic, so that a check or test run
 * again after a crash finds and replaces its leftover, and per node, since service names are
 * the swarm's and every node of a deployment runs its own.
 */
export function oneShotServiceName(application: string, hostname: string, deploymentId: string, what: string): string {
  return bounded(`${application}--${hostname}--${fingerprint(deploymentId)}--${what}`);
}

/**
 * A test's secret, per deployment and test: distinct from the application's secret of the
 * same name, which may hold another value. Labelled as the application's secrets are, so the
 * target prunes it once no service references it.
 */
export function testSecretName(application: string, deploymentId: string, test: string, name: string): string {
  return objectName('t', application, deploymentId, test, name);
}

/**
 * Not `managed`: a one-shot service is not an instance of the application, so the verbs that
 * list the application's services never see it. The role, deployment and node find it again.
 */
function oneShotLabels(intent: NodeIntent, role: string, hostname: string): Record<string, string> {
  return { [LABELS.role]: role, [LABELS.application]: intent.application, [LABELS.version]: intent.version, [LABELS.deployment]: intent.deploymentId, [SWARM_LABELS.node]: hostname };
}

const JOB: SwarmJobSpec['Mode'] = { ReplicatedJob: { MaxConcurrent: 1, TotalCompletions: 1 } };

/**
 * The configuration check: the application's service on the node as the intent makes it
 * (image, env, files as configs, secrets, mounts, network, limits), running the check's
 * command once instead (as `Args`, as the application's command is), with no port published
 * and no health check, so that it runs beside the version it is to replace.
 */
export function renderSwarmConfigCheck(intent: NodeIntent, hostname: string): SwarmJob {
  const service = renderService({ ...intent, replicas: 1 }, hostname);
  const { TaskTemplate: template } = service.spec;
  const kept = Object.entries(template.ContainerSpec).filter(([k]) => !['Args', 'Healthcheck', 'StopGracePeriod', 'StopSignal'].includes(k));
  const labels = oneShotLabels(intent, ONE_SHOT_ROLES.configCheck, hostname);
  const name = oneShotServiceName(intent.application, hostname, intent.deploymentId, 'config-check');
  return {
    name,
    spec: {
      Name: name,
      Labels: labels,
      TaskTemplate: { ...template, ContainerSpec: { ...Object.fromEntries(kept), Args: intent.configCheck!.command, Labels: labels }, RestartPolicy: { Condition: 'none', Delay: 0 } },
      Mode: JOB,
      EndpointSpec: { Mode: 'dnsrr' },
    },
    configs: service.configs,
    secrets: service.secrets,
  };
}

/**
 * A test container on the node, against the new version, as a one-shot service: on the
 * node's network when the application is (it reaches it at 127.0.0.1), else on the engine's
 * bridge (it reaches it at the node's address). It is told where and what it tests in
 * DEPLOYER_* variables, as on a Docker Engine; its secrets are Swarm secrets of its own in
 * /run/secrets, their values resolved only by the target that creates them.
 */
export function renderSwarmTestService(intent: NodeIntent, test: ContainerTest, hostname: string, nodeAddress: string): SwarmJob {
  const host = intent.network === 'host';
  const env = testContainerEnv(intent, test, nodeAddress);
  const owned = { [LABELS.managed]: 'true', [LABELS.application]: intent.application, [SWARM_LABELS.deployment]: intent.deploymentId };
  const secrets = test.secrets.map((s) => ({ secret: s, body: { Name: testSecretName(intent.application, intent.deploymentId, test.name, s.name), Labels: owned, ref: s.ref } }));
  const labels = oneShotLabels(intent, ONE_SHOT_ROLES.test, hostname);
  const name = oneShotServiceName(intent.application, hostname, intent.deploymentId, `test-${test.name}`);
  return {
    name,
    spec: {
      Name: name,
      Labels: labels,
      TaskTemplate: {
        ContainerSpec: {
          Image: test.image,
          ...(test.command !== undefined ? { Args: test.command } : {}),
          Env: [...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...test.secrets.map((s) => `${s.name}_FILE=${s.path}`)],
          Labels: labels,
          ...(secrets.length > 0
            ? { Secrets: secrets.map(({ secret, body }) => ({ File: { Name: secret.name, UID: '0', GID: '0', Mode: 0o400 }, SecretName: body.Name })) }
            : {}),
        },
        RestartPolicy: { Condition: 'none', Delay: 0 },
        Placement: { Constraints: [`node.hostname==${hostname}`] },
        ...(host ? { Networks: [{ Target: 'host' }] } : {}),
      },
      Mode: JOB,
      EndpointSpec: { Mode: 'dnsrr' },
    },
    configs: [],
    secrets: secrets.map((s) => s.body),
  };
}
