import { InvalidContainerError } from '../../src/core/errors';
import { nodeIntent, type NodeIntent } from '../../src/core/intent';
import { LABELS } from '../../src/core/labels';
import { fingerprint } from '../../src/core/renderers/docker-engine';
import { configCheckPodName, configMapName, fileKey, KUBE_LABELS, kubernetesProblems, oneShotLabels, renderConfigCheckPod, renderTestPod, renderWorkload, secretObjectName, selectorLabels, testPodName, workloadName, workloadPod } from '../../src/core/renderers/kubernetes';
import { deployRequestSchema } from '../../src/core/schemas/request';
import { contractExample, minimal } from '../fixtures/requests';

const image = '10.77.0.1:5000/temp-sensor@sha256:abc';
const intentOf = (request: object): NodeIntent => nodeIntent(deployRequestSchema.parse(request), image);
const withContainer = (container: object) => intentOf({ ...minimal, container });
const podSpec = (intent: NodeIntent, nodeName = 'kube-1') => renderWorkload(intent, nodeName, 'deployer').deployment.spec.template.spec;
const containerOf = (intent: NodeIntent) => (podSpec(intent).containers as Record<string, unknown>[])[0]!;

/** The contract example as a Kubernetes node can take it: named volumes are not delivered there. */
const example = { ...contractExample, container: { ...contractExample.container, volumes: [] } };

describe('the Kubernetes renderer', () => {
  it('renders the contract example into one Deployment pinned to the node, with the ConfigMap of its files and the plan of its Secret', () => {
    const id = 'd-20261123-0001';
    const selector = { [LABELS.managed]: 'true', [LABELS.application]: 'temp-sensor', [KUBE_LABELS.node]: 'kube-1' };
    const annotations = { [LABELS.deployment]: id, [LABELS.version]: '1.4.0', [LABELS.restartPolicy]: 'unless-stopped', [LABELS.ports]: '8080/tcp' };
    const files = `temp-sensor--kube-1-f${fingerprint(id)}`;
    const secret = `temp-sensor--kube-1-s${fingerprint(id)}`;
    const key = `f${fingerprint('/etc/temp-sensor/config.json')}`;
    expect(renderWorkload(intentOf(example), 'kube-1', 'deployer')).toEqual({
      name: 'temp-sensor--kube-1',
      deployment: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'temp-sensor--kube-1', namespace: 'deployer', labels: selector, annotations },
        spec: {
          replicas: 1,
          revisionHistoryLimit: 10,
          strategy: { type: 'Recreate' },
          selector: { matchLabels: selector },
          template: {
            metadata: { labels: selector, annotations },
            spec: {
              nodeName: 'kube-1',
              hostNetwork: true,
              dnsPolicy: 'ClusterFirstWithHostNet',
              restartPolicy: 'Always',
              terminationGracePeriodSeconds: 10,
              automountServiceAccountToken: false,
              enableServiceLinks: false,
              containers: [
                {
                  name: 'app',
                  image,
                  args: ['/bin/httpd', '-f', '-p', '8080', '-h', '/www'],
                  env: [
                    { name: 'LOG_LEVEL', value: 'info' },
                    { name: 'MQTT_PASSWORD_FILE', value: '/run/secrets/MQTT_PASSWORD' },
                  ],
                  resources: { limits: { memory: '64Mi', cpu: '500m' } },
                  readinessProbe: { httpGet: { port: 8080, path: '/' }, periodSeconds: 1, timeoutSeconds: 1, successThreshold: 2, failureThreshold: 1 },
                  volumeMounts: [
                    { name: 'files', mountPath: '/etc/temp-sensor/config.json', subPath: key, readOnly: true },
                    { name: 'secrets', mountPath: '/run/secrets', readOnly: true },
                  ],
                },
              ],
              volumes: [
                { name: 'files', configMap: { name: files, items: [{ key, path: key, mode: 0o644 }] } },
                { name: 'secrets', secret: { secretName: secret, items: [{ key: 'MQTT_PASSWORD', path: 'MQTT_PASSWORD', mode: 0o400 }] } },
              ],
            },
          },
        },
      },
      configMap: {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: files, namespace: 'deployer', labels: selector, annotations: { [LABELS.deployment]: id } },
        immutable: true,
        data: { [key]: '{"intervalSeconds": 5}' },
      },
      // The references only: the target resolves the values when it applies the Secret.
      secret: {
        metadata: { name: secret, namespace: 'deployer', labels: selector, annotations: { [LABELS.deployment]: id } },
        refs: { MQTT_PASSWORD: 'temp-sensor/mqtt/password' },
      },
    });
  });

  it('renders a bare intent without ConfigMap, Secret, volumes, probe, resources or port claims', () => {
    const w = renderWorkload(intentOf(minimal), 'kube-2', 'apps');
    expect(Object.keys(w).sort()).toEqual(['deployment', 'name']);
    expect(w.deployment.metadata.annotations).toEqual({ [LABELS.deployment]: 'd-min', [LABELS.version]: '1', [LABELS.restartPolicy]: 'unless-stopped' });
    expect(w.deployment.metadata.namespace).toBe('apps');
    expect(w.deployment.spec.template.spec.volumes).toBeUndefined();
    expect(w.deployment.spec.template.spec.containers).toEqual([{ name: 'app', image, env: [], volumeMounts: [] }]);
  });

  it('puts a host-network pod on the node\'s network with cluster DNS, and lists no container ports there', () => {
    const spec = podSpec(withContainer({ network: 'host', ports: [{ container: 8080 }] }));
    expect([spec.hostNetwork, spec.dnsPolicy]).toEqual([true, 'ClusterFirstWithHostNet']);
    expect(containerOf(withContainer({ network: 'host', ports: [{ container: 8080 }] }))).not.toHaveProperty('ports');
    // The claim is still recorded, for the port check of other applications.
    expect(renderWorkload(withContainer({ network: 'host', ports: [{ container: 8080 }] }), 'kube-1', 'deployer').deployment.metadata.annotations[LABELS.ports]).toBe('8080/tcp');
  });

  it('publishes a bridge pod\'s ports as containerPort and hostPort, with the protocol in capitals', () => {
    const intent = withContainer({ network: 'bridge', ports: [{ container: 80, host: 18080 }, { container: 53, protocol: 'udp' }] });
    const w = renderWorkload(intent, 'kube-1', 'deployer');
    expect((w.deployment.spec.template.spec.containers as Record<string, unknown>[])[0]!.ports).toEqual([
      { containerPort: 80, hostPort: 18080, protocol: 'TCP' },
      { containerPort: 53, hostPort: 53, protocol: 'UDP' },
    ]);
    expect(w.deployment.spec.template.spec).not.toHaveProperty('hostNetwork');
    expect(w.deployment.spec.template.spec).not.toHaveProperty('dnsPolicy');
    expect(w.deployment.metadata.annotations[LABELS.ports]).toBe('18080/tcp,53/udp');
    // A bridge pod without ports publishes nothing.
    expect(containerOf(withContainer({ network: 'bridge' }))).not.toHaveProperty('ports');
  });

  it('delivers files by a ConfigMap keyed by fileKey, each mounted alone by subPath with its mode', () => {
    const intent = withContainer({
      files: [
        { path: '/etc/app/config.json', content: '{"a":1}' },
        { path: '/usr/local/bin/start.sh', content: '#!/bin/sh\nexec app\n', mode: 0o755 },
      ],
    });
    const w = renderWorkload(intent, 'kube-1', 'deployer');
    const [a, b] = [`f${fingerprint('/etc/app/config.json')}`, `f${fingerprint('/usr/local/bin/start.sh')}`];
    expect([fileKey({ path: '/etc/app/config.json' }), fileKey({ path: '/usr/local/bin/start.sh' })]).toEqual([a, b]);
    expect(Object.keys(w.configMap!.data).every((k) => !k.includes('/'))).toBe(true);
    expect(w.configMap!.data).toEqual({ [a]: '{"a":1}', [b]: '#!/bin/sh\nexec app\n' });
    expect(w.configMap!.immutable).toBe(true);
    expect(w.configMap!.metadata.name).toBe(configMapName('web', 'kube-1', 'd-min'));
    expect(w.deployment.spec.template.spec.volumes).toEqual([
      { name: 'files', configMap: { name: configMapName('web', 'kube-1', 'd-min'), items: [{ key: a, path: a, mode: 0o644 }, { key: b, path: b, mode: 0o755 }] } },
    ]);
    expect(containerOf(intent).volumeMounts).toEqual([
      { name: 'files', mountPath: '/etc/app/config.json', subPath: a, readOnly: true },
      { name: 'files', mountPath: '/usr/local/bin/start.sh', subPath: b, readOnly: true },
    ]);
  });

  it('delivers secrets by a Secret at /run/secrets (0400) named in NAME_FILE, their references nowhere but the Secret\'s plan', () => {
    const refs = { DB_PASSWORD: 'vault/db/password-ref-7f3a', API_TOKEN: 'vault/api/token-ref-91c2' };
    const intent = withContainer({ env: { MODE: 'prod' }, secrets: Object.entries(refs).map(([name, ref]) => ({ name, ref })) });
    const w = renderWorkload(intent, 'kube-1', 'deployer');
    const name = secretObjectName('web', 'kube-1', 'd-min');
    expect(w.secret).toEqual({
      metadata: { name, namespace: 'deployer', labels: selectorLabels('web', 'kube-1'), annotations: { [LABELS.deployment]: 'd-min' } },
      // Each in the application's own scope of the store.
      refs: { DB_PASSWORD: 'web/vault/db/password-ref-7f3a', API_TOKEN: 'web/vault/api/token-ref-91c2' },
    });
    expect(w.deployment.spec.template.spec.volumes).toEqual([
      { name: 'secrets', secret: { secretName: name, items: [{ key: 'DB_PASSWORD', path: 'DB_PASSWORD', mode: 0o400 }, { key: 'API_TOKEN', path: 'API_TOKEN', mode: 0o400 }] } },
    ]);
    expect(containerOf(intent).volumeMounts).toEqual([{ name: 'secrets', mountPath: '/run/secrets', readOnly: true }]);
    expect(containerOf(intent).env).toEqual([
      { name: 'MODE', value: 'prod' },
      { name: 'DB_PASSWORD_FILE', value: '/run/secrets/DB_PASSWORD' },
      { name: 'API_TOKEN_FILE', value: '/run/secrets/API_TOKEN' },
    ]);
    const deployment = JSON.stringify(w.deployment);
    const rest = JSON.stringify({ ...w, secret: { ...w.secret, refs: undefined } });
    for (const ref of Object.values(refs)) {
      expect(deployment).not.toContain(ref);
      expect(rest).not.toContain(ref);
      // Nor its last segment alone.
      expect(deployment).not.toContain(ref.split('/').pop()!);
    }
  });

  it('turns the http, tcp and exec health checks into the pod\'s readiness probe, in whole seconds', () => {
    const policy = { intervalMs: 1200, timeoutMs: 2100, healthyAfter: 3, deadlineMs: 9000 };
    const probeOf = (healthCheck: object) => containerOf(intentOf({ ...minimal, healthCheck: { ...healthCheck, ...policy } })).readinessProbe;
    // Rounded up: a probe is never more frequent, nor its timeout shorter, than the request asked.
    const timing = { periodSeconds: 2, timeoutSeconds: 3, successThreshold: 3, failureThreshold: 1 };
    expect(probeOf({ http: { port: 8080, path: '/healthz' } })).toEqual({ httpGet: { port: 8080, path: '/healthz' }, ...timing });
    expect(probeOf({ tcp: { port: 5432 } })).toEqual({ tcpSocket: { port: 5432 }, ...timing });
    expect(probeOf({ exec: { command: ['test', '-f', '/ready'] } })).toEqual({ exec: { command: ['test', '-f', '/ready'] }, ...timing });
    // The image's own HEALTHCHECK and no check at all: no readiness probe of the Deployer's.
    expect(containerOf(intentOf({ ...minimal, healthCheck: { docker: {} } }))).not.toHaveProperty('readinessProbe');
    expect(containerOf(intentOf(minimal))).not.toHaveProperty('readinessProbe');
    // Sub-second intervals and timeouts become the 1 s the API allows at least.
    const fast = containerOf(intentOf({ ...minimal, healthCheck: { tcp: { port: 1 }, intervalMs: 100, timeoutMs: 50, healthyAfter: 1 } })).readinessProbe;
    expect(fast).toMatchObject({ periodSeconds: 1, timeoutSeconds: 1, successThreshold: 1 });
  });

  it('limits memory in Mi and CPU in millicores', () => {
    expect(containerOf(withContainer({ resources: { memoryMb: 128, cpus: 0.25 } })).resources).toEqual({ limits: { memory: '128Mi', cpu: '250m' } });
    expect(containerOf(withContainer({ resources: { memoryMb: 6 } })).resources).toEqual({ limits: { memory: '6Mi' } });
    expect(containerOf(withContainer({ resources: { cpus: 1.5 } })).resources).toEqual({ limits: { cpu: '1500m' } });
    // To the nearest millicore.
    expect(containerOf(withContainer({ resources: { cpus: 0.3336 } })).resources).toEqual({ limits: { cpu: '334m' } });
    expect(containerOf(withContainer({ resources: { cpus: 0.3331 } })).resources).toEqual({ limits: { cpu: '333m' } });
    expect(containerOf(withContainer({}))).not.toHaveProperty('resources');
  });

  it('gives the pod the stop grace period rounded up to whole seconds', () => {
    const grace = (stopGracePeriodMs: number) => podSpec(withContainer({ stopGracePeriodMs })).terminationGracePeriodSeconds;
    expect([grace(0), grace(1), grace(1000), grace(1001), grace(1500), grace(10_000), grace(3_600_000)]).toEqual([0, 1, 1, 2, 2, 10, 3600]);
    // Docker's 10 s when the request says nothing.
    expect(podSpec(intentOf(minimal)).terminationGracePeriodSeconds).toBe(10);
  });

  it('carries the options past the sandbox a Kubernetes pod has: privileged, capabilities, host PID and IPC, host paths', () => {
    const intent = withContainer({ privileged: true, capabilities: ['NET_ADMIN'], pid: 'host', ipc: 'host', mounts: [{ source: '/srv/data', target: '/data', readOnly: false }, { source: '/etc/site', target: '/site' }] });
    const spec = podSpec(intent);
    expect([spec.hostPID, spec.hostIPC]).toEqual([true, true]);
    expect(containerOf(intent).securityContext).toEqual({ privileged: true, capabilities: { add: ['NET_ADMIN'] } });
    expect(spec.volumes).toEqual([
      { name: 'host-0', hostPath: { path: '/srv/data' } },
      { name: 'host-1', hostPath: { path: '/etc/site' } },
    ]);
    expect(containerOf(intent).volumeMounts).toEqual([
      { name: 'host-0', mountPath: '/data', readOnly: false },
      { name: 'host-1', mountPath: '/site', readOnly: true },
    ]);
    const plain = podSpec(intentOf(minimal));
    expect([plain.hostPID, plain.hostIPC, containerOf(intentOf(minimal)).securityContext]).toEqual([undefined, undefined, undefined]);
  });

  it('carries replicas, the restart policy asked for (as an annotation: a pod always restarts in place), and the deployment into the template', () => {
    const w = renderWorkload(intentOf({ ...minimal, replicasPerNode: 3, container: { restartPolicy: 'on-failure' } }), 'kube-1', 'deployer');
    expect(w.deployment.spec.replicas).toBe(3);
    expect(w.deployment.spec.template.spec.restartPolicy).toBe('Always');
    expect(w.deployment.spec.template.metadata.annotations[LABELS.restartPolicy]).toBe('on-failure');
    expect(w.deployment.spec.template.metadata.annotations[LABELS.deployment]).toBe('d-min');
  });

  it('asks the namespace\'s pod security with the Deployment\'s own pod: its template as a bare pod of the Deployment\'s name', () => {
    const w = renderWorkload(withContainer({ privileged: true, network: 'host' }), 'kube-1', 'deployer');
    expect(workloadPod(w)).toEqual({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web--kube-1', namespace: 'deployer', labels: selectorLabels('web', 'kube-1'), annotations: { [LABELS.deployment]: 'd-min', [LABELS.version]: '1', [LABELS.restartPolicy]: 'unless-stopped' } },
      spec: w.deployment.spec.template.spec,
    });
  });

  it('refuses what a pod here cannot do, naming each, before rendering anything', () => {
    const base = withContainer({ volumes: [{ name: 'data', target: '/data' }], network: 'none', stopSignal: 'SIGINT', init: true });
    const intent = { ...base, access: { ...base.access, devices: [{ host: '/dev/ttyUSB0', permissions: 'rwm' as const }] } };
    const all = [
      'devices: a pod cannot be given host devices without a device plugin',
      'volumes: named volumes are not delivered to Kubernetes nodes (use a host path the node allows)',
      'network "none": a pod runs on the node\'s network (host) or the pod network (bridge)',
      'stopSignal: a pod is stopped with its image\'s STOPSIGNAL (or SIGTERM)',
      'init: a pod has no injected init process',
    ];
    expect(kubernetesProblems(intent)).toEqual(all);
    expect(() => renderWorkload(intent, 'kube-1', 'deployer')).toThrow(InvalidContainerError);
    expect(() => renderWorkload(intent, 'kube-1', 'deployer')).toThrow(`on a Kubernetes node: ${all.join('; ')}`);
    // Each on its own.
    expect(() => renderWorkload(withContainer({ init: true }), 'kube-1', 'deployer')).toThrow(/^on a Kubernetes node: init: a pod has no injected init process$/);
    expect(() => renderWorkload(withContainer({ stopSignal: 'SIGTERM' }), 'kube-1', 'deployer')).toThrow(/^on a Kubernetes node: stopSignal: /);
    expect(() => renderWorkload(withContainer({ volumes: [{ name: 'data', target: '/data' }] }), 'kube-1', 'deployer')).toThrow(/^on a Kubernetes node: volumes: /);
    expect(kubernetesProblems(intentOf(example))).toEqual([]);
    expect(kubernetesProblems(withContainer({ network: 'bridge' }))).toEqual([]);
    // What the API server would refuse only halfway through an apply: refused before it.
    const trailing = withContainer({});
    expect(kubernetesProblems({ ...trailing, application: 'web-' })).toEqual(['application name "web-": a Kubernetes label value must end with a letter or digit']);
    const big = withContainer({ files: [0, 1, 2, 3, 4].map((i) => ({ path: `/etc/f${i}`, content: 'x'.repeat(250_000) })) });
    expect(kubernetesProblems(big)).toEqual(['files: 1250000 bytes in all; a ConfigMap holds at most 1000000']);
    const fits = withContainer({ files: [0, 1, 2].map((i) => ({ path: `/etc/f${i}`, content: 'x'.repeat(250_000) })) });
    expect(kubernetesProblems(fits)).toEqual([]);
  });

  it('names workloads so that a pod\'s name stays a DNS label, deterministically, distinct for distinct inputs', () => {
    expect(workloadName('web', 'kube-1')).toBe('web--kube-1');
    const long = workloadName('a'.repeat(63), 'kube-1');
    // The ReplicaSet is "<name>-<pod-template-hash>" (a hash of up to 10 characters); its pods are
    // generateName "<replica set>-", of which the API server keeps 58 characters before 5 random ones.
    // Within 46, "<name>-<hash>-" fits those 58 whole, and the pod's name is at most 63 characters.
    expect(long.length).toBeLessThanOrEqual(46);
    expect(`${long}-${'h'.repeat(10)}-`.length).toBeLessThanOrEqual(58);
    expect(long).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(long).toBe(workloadName('a'.repeat(63), 'kube-1'));
    expect(long).toBe(`${'a'.repeat(36)}--${fingerprint(`${'a'.repeat(63)}--kube-1`)}`);
    expect(long).not.toBe(workloadName('a'.repeat(63), 'kube-2'));
    expect(workloadName('a'.repeat(63), 'kube-1')).not.toBe(workloadName('a'.repeat(62), 'kube-1'));
    // A node name a Deployment's name could not carry as it is (dots) is made one, and stays distinct.
    const dotted = workloadName('web', 'node-1.example.com');
    expect(dotted).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
    expect(dotted).not.toBe(workloadName('web', 'node-1-example-com'));
    const renderedLong = renderWorkload(intentOf({ ...minimal, application: { ...minimal.application, name: 'a'.repeat(63) } }), 'kube-1', 'deployer');
    expect(renderedLong.name).toBe(long);
    expect(renderedLong.deployment.metadata.name).toBe(long);
  });

  it('names config maps and secrets per deployment within 63 characters, and keeps label values within 63', () => {
    for (const n of [configMapName('a'.repeat(63), 'kube-1', 'd'.repeat(128)), secretObjectName('a'.repeat(63), 'kube-1', 'd'.repeat(128))]) expect(n.length).toBeLessThanOrEqual(63);
    expect(configMapName('web', 'kube-1', 'd-1')).not.toBe(configMapName('web', 'kube-1', 'd-2'));
    expect(secretObjectName('web', 'kube-1', 'd-1')).not.toBe(secretObjectName('web', 'kube-1', 'd-2'));
    expect(configMapName('web', 'kube-1', 'd-1')).not.toBe(secretObjectName('web', 'kube-1', 'd-1'));
    expect(configMapName('web', 'kube-1', 'd-1')).toBe(`web--kube-1-f${fingerprint('d-1')}`);
    const longNode = 'n'.repeat(100);
    expect(selectorLabels('web', longNode)).toEqual({ [LABELS.managed]: 'true', [LABELS.application]: 'web', [KUBE_LABELS.node]: fingerprint(longNode) });
    expect(selectorLabels('web', 'kube-1')[KUBE_LABELS.node]).toBe('kube-1');
  });
});

describe('the Kubernetes renderer\'s one-shot pods', () => {
  const request = deployRequestSchema.parse({
    ...minimal,
    container: {
      command: ['web', '--serve'],
      env: { MODE: 'prod' },
      files: [{ path: '/etc/web.conf', content: 'x=1' }],
      secrets: [{ name: 'DB', ref: 'db/password' }],
      network: 'bridge',
      ports: [{ container: 8080, host: 9090 }],
      stopGracePeriodMs: 3000,
      configCheck: { command: ['web', '--check-config'] },
    },
    healthCheck: { http: { port: 8080, path: '/health' } },
    verify: { tests: [{ name: 'e2e', container: { image: 'reg:5000/e2e:1', command: ['run'], env: { N: '1' } }, secrets: [{ name: 'TOKEN', ref: 'api/token' }] }] },
  });
  const intent = nodeIntent(request, image);
  const roleLabels = (role: string) => ({ [LABELS.application]: 'web', [KUBE_LABELS.node]: 'kube-1', [LABELS.role]: role });
  const annotations = { [LABELS.deployment]: 'd-min', [LABELS.version]: '1' };
  const key = `f${fingerprint('/etc/web.conf')}`;

  it('checks the configuration in the application\'s pod as its Deployment runs it, the check\'s command as args, no port, no probe, never restarted', () => {
    const workload = renderWorkload(intent, 'kube-1', 'deployer');
    expect(renderConfigCheckPod(intent, 'kube-1', 'deployer')).toEqual({
      pod: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `web--kube-1-c${fingerprint('d-min')}`, namespace: 'deployer', labels: roleLabels('config-check'), annotations },
        spec: {
          nodeName: 'kube-1',
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 3,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: 'config-check',
              image,
              args: ['web', '--check-config'],
              env: [
                { name: 'MODE', value: 'prod' },
                { name: 'DB_FILE', value: '/run/secrets/DB' },
              ],
              volumeMounts: [
                { name: 'files', mountPath: '/etc/web.conf', subPath: key, readOnly: true },
                { name: 'secrets', mountPath: '/run/secrets', readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: 'files', configMap: { name: configMapName('web', 'kube-1', 'd-min'), items: [{ key, path: key, mode: 0o644 }] } },
            { name: 'secrets', secret: { secretName: secretObjectName('web', 'kube-1', 'd-min'), items: [{ key: 'DB', path: 'DB', mode: 0o400 }] } },
          ],
        },
      },
      // Exactly the objects apply puts in place: applied first by the check, apply finds them as they are.
      configMap: workload.configMap,
      secret: workload.secret,
    });
  });

  it('keeps a host-network application\'s network for its check, and refuses what the Deployment would refuse', () => {
    const hosted = nodeIntent(deployRequestSchema.parse({ ...minimal, container: { configCheck: { command: ['true'] } } }), image);
    const { pod } = renderConfigCheckPod(hosted, 'kube-2', 'deployer');
    expect([pod.spec.hostNetwork, pod.spec.dnsPolicy, pod.spec.nodeName]).toEqual([true, 'ClusterFirstWithHostNet', 'kube-2']);
    expect(Object.keys(renderConfigCheckPod(hosted, 'kube-2', 'deployer'))).toEqual(['pod']);
    expect(() => renderConfigCheckPod({ ...hosted, init: true }, 'kube-1', 'deployer')).toThrow(InvalidContainerError);
  });

  it('runs a test container as a pod on the pod network against the node\'s address, told what it tests, its secrets as files from a Secret of its own', () => {
    const name = `web--kube-1-t${fingerprint('d-min/e2e')}`;
    const meta = { name, namespace: 'deployer', labels: roleLabels('test'), annotations };
    expect(renderTestPod(intent, intent.tests![0] as never, 'kube-1', '10.77.0.21', 'deployer')).toEqual({
      pod: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: meta,
        spec: {
          nodeName: 'kube-1',
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 0,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          containers: [
            {
              name: 'test',
              image: 'reg:5000/e2e:1',
              args: ['run'],
              env: [
                { name: 'N', value: '1' },
                { name: 'DEPLOYER_TARGET_HOST', value: '10.77.0.21' },
                { name: 'DEPLOYER_APPLICATION', value: 'web' },
                { name: 'DEPLOYER_VERSION', value: '1' },
                { name: 'DEPLOYER_DEPLOYMENT_ID', value: 'd-min' },
                { name: 'TOKEN_FILE', value: '/run/secrets/TOKEN' },
              ],
              volumeMounts: [{ name: 'secrets', mountPath: '/run/secrets', readOnly: true }],
            },
          ],
          volumes: [{ name: 'secrets', secret: { secretName: name, items: [{ key: 'TOKEN', path: 'TOKEN', mode: 0o400 }] } }],
        },
      },
      // The reference only: the target resolves the value when it applies the Secret.
      secret: { metadata: meta, refs: { TOKEN: 'web/api/token' } },
    });
  });

  it('runs a test pod on the node\'s network when the application is, reaching it at 127.0.0.1; without secrets it has no Secret', () => {
    const hosted = nodeIntent(deployRequestSchema.parse({ ...minimal, verify: { tests: [{ name: 'e2e', container: { image: 'x' } }] } }), image);
    const rendered = renderTestPod(hosted, hosted.tests![0] as never, 'kube-1', '10.77.0.21', 'deployer');
    expect(Object.keys(rendered)).toEqual(['pod']);
    expect([rendered.pod.spec.hostNetwork, rendered.pod.spec.dnsPolicy, rendered.pod.spec.volumes]).toEqual([true, 'ClusterFirstWithHostNet', undefined]);
    const [container] = rendered.pod.spec.containers;
    expect(container).not.toHaveProperty('args');
    expect(container!.env).toContainEqual({ name: 'DEPLOYER_TARGET_HOST', value: '127.0.0.1' });
    expect(container!.volumeMounts).toEqual([]);
  });

  it('labels one-shot pods so that no Deployment selects them, and names them per deployment and test within 63 characters', () => {
    const selector = selectorLabels('web', 'kube-1');
    const labels = renderConfigCheckPod(intent, 'kube-1', 'deployer').pod.metadata.labels;
    // A Deployment's selector needs every one of its labels: the one-shot pod lacks `managed`.
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
    expect(labels).not.toHaveProperty(LABELS.managed);
    expect(oneShotLabels('web', 'kube-1')).toEqual({ [LABELS.application]: 'web', [KUBE_LABELS.node]: 'kube-1' });
    const long = ['a'.repeat(63), 'n'.repeat(100), 'd'.repeat(128)] as const;
    expect(configCheckPodName(...long).length).toBeLessThanOrEqual(63);
    expect(testPodName(...long, 't'.repeat(63)).length).toBeLessThanOrEqual(63);
    expect(testPodName('web', 'kube-1', 'd-1', 'a')).not.toBe(testPodName('web', 'kube-1', 'd-1', 'b'));
    expect(testPodName('web', 'kube-1', 'd-1', 'a')).not.toBe(testPodName('web', 'kube-1', 'd-2', 'a'));
    expect(configCheckPodName('web', 'kube-1', 'd-1')).not.toBe(configCheckPodName('web', 'kube-1', 'd-2'));
    expect(configCheckPodName('web', 'kube-1', 'd-1')).toMatch(/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/);
  });
});
