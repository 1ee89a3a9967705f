// Requests on `deployer.requests`: the executable form of the Scheduler contract
// (scheduler-kafka-v1, "Requests"). Objects are strict: a field the contract does not
// describe is rejected rather than silently ignored. Defaults are the contract's.
// Pure: imported by workflow code, so nothing Node-only here.
import { z } from 'zod';
import { gitUrlProblem } from '../git-source';
import { regexProblem } from '../text-match';

export const deploymentIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9._:-]{1,128}$/, 'must be 1-128 characters of letters, digits, ".", "_", ":" or "-"');

export const applicationNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lowercase letters, digits or "-", starting with a letter or digit');

export const versionSchema = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of letters, digits, ".", "_" or "-"');

export const nodeIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-"');

const envNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'must be a POSIX environment variable name');

/** Absolute, normalised container path: no "..", no ".", no empty segments, no NUL. */
const containerPathSchema = z
  .string()
  .max(1024)
  .refine((p) => p.startsWith('/') && p.length > 1, 'must be an absolute path inside the container, not "/"')
  .refine((p) => p.slice(1).split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), 'must not contain "..", "." or empty segments')
  .refine((p) => !/[\u0000-\u001f]/.test(p), 'must not contain control characters');

/**
 * Absolute, normalised host path ("/" included): what a node's policy compares, segment by
 * segment, with the prefixes its inventory allows, so it must not be able to climb out.
 */
export const hostPathSchema = z
  .string()
  .max(1024)
  .refine((p) => p.startsWith('/'), 'must be an absolute path on the node')
  .refine((p) => p === '/' || p.slice(1).split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), 'must not contain "..", "." or empty segments')
  .refine((p) => !/[\u0000-\u001f\u007f]/.test(p), 'must not contain control characters');

/** A device node of the host: a path below /dev. */
export const devicePathSchema = hostPathSchema.refine((p) => p.startsWith('/dev/'), 'must be a device path below /dev/');

/** Linux capabilities (capabilities(7)), without the CAP_ prefix; "ALL" is deliberately not one of them. */
export const LINUX_CAPABILITIES = [
  'AUDIT_CONTROL', 'AUDIT_READ', 'AUDIT_WRITE', 'BLOCK_SUSPEND', 'BPF', 'CHECKPOINT_RESTORE', 'CHOWN', 'DAC_OVERRIDE',
  'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'IPC_LOCK', 'IPC_OWNER', 'KILL', 'LEASE', 'LINUX_IMMUTABLE', 'MAC_ADMIN',
  'MAC_OVERRIDE', 'MKNOD', 'NET_ADMIN', 'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_RAW', 'PERFMON', 'SETFCAP', 'SETGID',
  'SETPCAP', 'SETUID', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_CHROOT', 'SYS_MODULE', 'SYS_NICE', 'SYS_PACCT', 'SYS_PTRACE',
  'SYS_RAWIO', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'SYSLOG', 'WAKE_ALARM',
] as const;

export const capabilitySchema = z.enum(LINUX_CAPABILITIES, {
  error: 'must be a Linux capability name without the CAP_ prefix, such as NET_ADMIN',
});

// Docker's bind syntax (source:target:mode) has no escape for these, so a path holding one could redirect the mount.
const bindSafe = (p: string) => !/[:,]/.test(p);

const port = z.number().int().min(1).max(65535);

const gitContext = /^(https?|git|ssh):\/\/[^\s#]+(#[A-Za-z0-9._/:-]+)?$|^git@[^\s#]+(#[A-Za-z0-9._/:-]+)?$/;

export const sourceSchema = z.strictObject({
  context: z
    .string()
    .max(4096)
    .refine(
      (c) => !/[\u0000-\u001f\u007f]/.test(c) && (gitContext.test(c) || (c.startsWith('/') && !c.split('/').includes('..'))),
      'must be an absolute directory on the build host (without ".." or control characters) or a git URL with an optional #ref',
    )
    .superRefine((c, ctx) => {
      // Only a context of the git form: any other was refused just above.
      const problem = gitContext.test(c) ? gitUrlProblem(c) : undefined;
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `a git URL ${problem}` });
    }),
  dockerfile: z
    .string()
    .max(255)
    .refine((f) => !f.startsWith('/') && !f.split('/').includes('..'), 'must be a path inside the context')
    .default('Dockerfile'),
  buildArgs: z.record(envNameSchema, z.string().max(4096)).default({}),
});

export const imageReferenceSchema = z
  .string()
  .max(512)
  .regex(/^[a-z0-9][a-z0-9._:/@-]*$/i, 'must be an image reference such as registry:5000/name:tag or name@sha256:digest');

/** An OCI platform, `os/architecture[/variant]`, such as linux/amd64 or linux/arm/v7. */
export const platformSchema = z.string().regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, 'must be a platform such as linux/amd64, linux/arm64 or linux/arm/v7');

export const applicationSchema = z
  .strictObject({
    name: applicationNameSchema,
    version: versionSchema,
    source: sourceSchema.optional(),
    image: imageReferenceSchema.optional(),
    /** Prebuilt images, one per platform: each node pulls the one for its own (a Deployer extension). */
    images: z
      .record(platformSchema, imageReferenceSchema)
      .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 16, 'must name 1 to 16 platforms')
      .optional(),
  })
  .refine((a) => [a.source, a.image, a.images].filter((x) => x !== undefined).length === 1, {
    message: 'exactly one of "source" (build), "image" (prebuilt) and "images" (prebuilt, one per platform) is required',
  });

/** Signals a container may be asked to stop with. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGKILL'] as const;

/** Secrets by reference: a name (the file /run/secrets/NAME) and where the provider finds the value. */
const secretRefsSchema = z
  .array(
    z.strictObject({
      name: envNameSchema,
      ref: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/, 'must be a secret reference such as "mqtt/password"')
        .max(256)
        .refine((r) => !r.split('/').some((seg) => seg === '..' || seg === '.'), 'must not contain "." or ".." segments'),
    }),
  )
  .max(64)
  .refine((ss) => new Set(ss.map((s) => s.name)).size === ss.length, 'must not name a secret twice')
  .default([]);

const commandSchema = z.array(z.string().max(4096)).min(1, 'must name the program to run').max(256);

/**
 * The configuration check (a Deployer extension): a command run in a container of the new
 * image, with the new env, files and secrets, before the previous version is stopped, such
 * as `nginx -t`. It fails the node, while the old version still serves, unless it exits 0.
 */
export const configCheckSchema = z.strictObject({
  command: commandSchema,
  timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
});

export const containerSchema = z.strictObject({
  command: z.array(z.string().max(4096)).max(256).optional(),
  env: z.record(envNameSchema, z.string().max(32768)).default({}),
  secrets: secretRefsSchema,
  files: z
    .array(z.strictObject({ path: containerPathSchema, content: z.string().max(256 * 1024), mode: z.number().int().min(0).max(0o777).optional() }))
    .max(64)
    .default([]),
  ports: z
    .array(z.strictObject({ container: port, host: port.optional(), protocol: z.enum(['tcp', 'udp']).default('tcp') }))
    .max(64)
    .default([]),
  volumes: z
    .array(z.strictObject({ name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'must be a Docker volume name'), target: containerPathSchema, readOnly: z.boolean().default(false) }))
    .max(32)
    .default([]),
  // Host networking is the default: a fog application usually serves on its node's own address.
  network: z.enum(['host', 'none', 'bridge']).default('host'),
  restartPolicy: z.enum(['no', 'always', 'unless-stopped', 'on-failure']).default('unless-stopped'),
  /** How long a stopping container may take after its stop signal before it is killed (Deployer extension; Docker's 10 s by default). */
  stopGracePeriodMs: z.number().int().min(0).max(3_600_000).default(10_000),
  /** The signal that asks the container to stop (Deployer extension); default the image's STOPSIGNAL, else SIGTERM. */
  stopSignal: z.enum(STOP_SIGNALS, { error: `must be one of ${STOP_SIGNALS.join(', ')}` }).optional(),
  /** An init process as PID 1 (Docker's tini) that forwards signals and reaps children (Deployer extension). */
  init: z.boolean().default(false),
  configCheck: configCheckSchema.optional(),
  // Docker refuses a memory limit under 6 MB ("Minimum memory limit allowed is 6MB").
  resources: z
    .strictObject({ memoryMb: z.number().int().min(6).max(1024 * 1024).optional(), cpus: z.number().positive().max(1024).optional() })
    .optional(),
  // The options below reach past the container's sandbox. The schema only checks their form;
  // each is refused unless the inventory allows it on every node of the request (src/node-policy.ts).
  privileged: z.boolean().default(false),
  capabilities: z
    .array(capabilitySchema)
    .max(64)
    .refine((cs) => new Set(cs).size === cs.length, 'must not name a capability twice')
    .default([]),
  devices: z
    .array(
      z.strictObject({
        host: devicePathSchema,
        container: containerPathSchema.optional(),
        permissions: z.enum(['r', 'rw', 'rwm']).default('rwm'),
      }),
    )
    .max(64)
    .default([]),
  pid: z.enum(['private', 'host']).default('private'),
  ipc: z.enum(['private', 'host']).default('private'),
  mounts: z
    .array(
      z.strictObject({
        source: hostPathSchema.refine(bindSafe, 'must not contain ":" or ","'),
        target: containerPathSchema.refine(bindSafe, 'must not contain ":" or ","'),
        readOnly: z.boolean().default(true),
      }),
    )
    .max(32)
    .default([]),
});

export const healthCheckSchema = z
  .strictObject({
    http: z.strictObject({ port, path: z.string().max(2048).regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces').default('/') }).optional(),
    tcp: z.strictObject({ port }).optional(),
    exec: z.strictObject({ command: z.array(z.string().max(4096)).min(1).max(64) }).optional(),
    docker: z.strictObject({}).optional(),
    intervalMs: z.number().int().min(10).max(600_000).default(1000),
    timeoutMs: z.number().int().min(10).max(600_000).default(2000),
    healthyAfter: z.number().int().min(1).max(100).default(1),
    deadlineMs: z.number().int().min(100).max(3_600_000).default(60_000),
  })
  .refine((h) => [h.http, h.tcp, h.exec, h.docker].filter((x) => x !== undefined).length === 1, {
    message: 'exactly one of "http", "tcp", "exec" and "docker" is required',
  });

/**
 * A regular expression in RE2's syntax (the JavaScript syntax less backreferences and
 * lookaround), refused here, not when the first test runs. RE2 matches in time linear in the
 * text: a request author's pattern runs on up to 256 KiB of an application's output on the
 * worker, where a backtracking engine could spend minutes on `(a+)+$`.
 */
const regexSchema = z
  .string()
  .min(1)
  .max(1024)
  .superRefine((r, ctx) => {
    const problem = regexProblem(r);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `must be a regular expression RE2 accepts (no backreferences or lookaround): ${problem}` });
  });

/** What a text must hold: a plain string it contains, or `{ "matches": "regex" }`. */
export const textMatchSchema = z.union([z.string().min(1).max(4096), z.strictObject({ matches: regexSchema })], {
  error: 'must be a string the text contains, or { "matches": "regular expression" }',
});

const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

const headerNameSchema = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,256}$/, 'must be an HTTP header name');

/**
 * A deployment test (a Deployer extension, like Helm's test hooks): run on each node after
 * its health check passed and before anything older is retired. Exactly one of `http` (a
 * request from the Deployer to the node), `exec` (a command in one of the new containers)
 * and `container` (a test container on the node, removed afterwards) says what it does.
 */
export const deploymentTestSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'must be 1-63 lowercase letters, digits or "-"'),
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    http: z
      .strictObject({
        port,
        method: z.enum(HTTP_METHODS, { error: `must be one of ${HTTP_METHODS.join(', ')}` }).default('GET'),
        path: z.string().max(2048).regex(/^\/[^\s]*$/, 'must start with "/" and contain no spaces').default('/'),
        /** Header values may name a test secret as ${secrets.NAME}: it is put in only when the request is sent. */
        headers: z.record(headerNameSchema, z.string().max(8192)).default({}),
        body: z.string().max(256 * 1024).optional(),
        expect: z
          .strictObject({
            status: z.number().int().min(100).max(599).default(200),
            body: textMatchSchema.optional(),
            headers: z.record(headerNameSchema, textMatchSchema).default({}),
          })
          .default(() => ({ status: 200, headers: {} })),
      })
      .optional(),
    exec: z
      .strictObject({
        command: commandSchema,
        expect: z.strictObject({ exitCode: z.number().int().min(0).max(255).default(0), output: textMatchSchema.optional() }).default(() => ({ exitCode: 0 })),
      })
      .optional(),
    container: z
      .strictObject({
        image: imageReferenceSchema,
        command: z.array(z.string().max(4096)).max(256).optional(),
        env: z.record(envNameSchema, z.string().max(32768)).default({}),
      })
      .optional(),
    /** Secrets for the test: files at /run/secrets/NAME in a test container, ${secrets.NAME} in an http test's headers and body. */
    secrets: secretRefsSchema,
  })
  .superRefine((t, ctx) => {
    const kinds = [t.http, t.exec, t.container].filter((x) => x !== undefined).length;
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'exactly one of "http", "exec" and "container" is required' });
    if (t.exec !== undefined && t.secrets.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['secrets'], message: "an exec test runs inside the application's container, which has the container's secrets at /run/secrets: give them to the container instead" });
    }
    if (t.http !== undefined) {
      const named = new Set(t.secrets.map((s) => s.name));
      const texts = [...Object.entries(t.http.headers).map(([h, v]) => [['http', 'headers', h], v] as const), ...(t.http.body !== undefined ? [[['http', 'body'], t.http.body] as const] : [])];
      for (const [path, text] of texts) {
        for (const m of text.matchAll(/\$\{secrets\.([A-Za-z0-9_]+)\}/g)) {
          if (!named.has(m[1]!)) ctx.addIssue({ code: 'custom', path: [...path], message: `names secret ${m[1]}, which the test's "secrets" does not list` });
        }
      }
    }
  });

export const verifySchema = z.strictObject({
  tests: z
    .array(deploymentTestSchema)
    .max(32)
    .refine((ts) => new Set(ts.map((t) => t.name)).size === ts.length, 'must not name a test twice')
    .default([]),
});

export const strategySchema = z.strictObject({
  maxParallel: z.number().int().min(1).max(10_000).default(1),
  onFailure: z.enum(['rollback', 'pause']).default('rollback'),
  /** How long a paused deployment waits for an operator's decision before it rolls back (Deployer extension). */
  pauseTimeoutMs: z.number().int().min(1000).max(7 * 24 * 3600 * 1000).default(3600 * 1000),
  /** How long a deployment waits for the applications in `dependsOn` to run healthy on its nodes (Deployer extension). */
  dependencyTimeoutMs: z.number().int().min(1000).max(24 * 3600 * 1000).default(300_000),
});

const uniqueNodes = z
  .array(nodeIdSchema)
  .min(1, 'must name at least one node')
  .max(10_000)
  .refine((ns) => new Set(ns).size === ns.length, 'must not name a node twice');

export const deployRequestSchema = z.strictObject({
  kind: z.literal('Deploy'),
  deploymentId: deploymentIdSchema,
  application: applicationSchema,
  nodes: uniqueNodes,
  replicasPerNode: z.number().int().min(1).max(64).default(1),
  container: containerSchema.default(() => containerSchema.parse({})),
  healthCheck: healthCheckSchema.optional(),
  verify: verifySchema.optional(),
  strategy: strategySchema.default(() => strategySchema.parse({})),
  dependsOn: z.array(applicationNameSchema).max(64).default([]),
}).superRefine((r, ctx) => {
  // Port mappings the node could not honour are refused, not silently dropped.
  const { network, ports } = r.container;
  ports.forEach((p, i) => {
    if (network === 'none') {
      ctx.addIssue({ code: 'custom', path: ['container', 'ports', i], message: 'a container with network "none" has no ports to publish: use network "bridge" or "host"' });
    } else if (network === 'host' && p.host !== undefined && p.host !== p.container) {
      ctx.addIssue({
        code: 'custom',
        path: ['container', 'ports', i, 'host'],
        message: `with network "host" the container's port ${p.container} is the node's port ${p.container}; omit "host" or use network "bridge" to publish it as ${p.host}`,
      });
    }
  });
  // An http test reaches the node from outside, as a probe does, and only at a port the
  // application itself publishes or declares: a test may send any method and body, and its
  // answer is quoted, so at any other port of the node it would speak for the request's
  // author to whatever listens there (the node's engine, say).
  const probed = r.healthCheck?.http?.port ?? r.healthCheck?.tcp?.port;
  (r.verify?.tests ?? []).forEach((t, i) => {
    if (t.http === undefined) return;
    const path = ['verify', 'tests', i, 'http', 'port'];
    const declared = ports.some((p) => p.container === t.http!.port && p.protocol === 'tcp');
    if (network === 'none') ctx.addIssue({ code: 'custom', path, message: 'a container with network "none" cannot be reached by an http test: use an exec or container test' });
    else if (network === 'bridge' && !declared) {
      ctx.addIssue({ code: 'custom', path, message: `port ${t.http.port} is not published: with network "bridge" add { "container": ${t.http.port} } to container.ports` });
    } else if (network === 'host' && !declared && t.http.port !== probed) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `port ${t.http.port} is not one of the application's ports: with network "host" declare it, { "container": ${t.http.port} } in container.ports (a test reaches only the ports its application serves on)`,
      });
    }
  });
  // On a bridge network a probe from outside reaches only published ports.
  if (network === 'bridge' && probed !== undefined && !ports.some((p) => p.container === probed && p.protocol === 'tcp')) {
    ctx.addIssue({
      code: 'custom',
      path: ['healthCheck', r.healthCheck?.http ? 'http' : 'tcp', 'port'],
      message: `port ${probed} is not published: with network "bridge" add { "container": ${probed} } to container.ports`,
    });
  }
});

export const cancelRequestSchema = z.strictObject({ kind: z.literal('Cancel'), deploymentId: deploymentIdSchema });
export const retryRequestSchema = z.strictObject({ kind: z.literal('Retry'), deploymentId: deploymentIdSchema });
export const rollbackRequestSchema = z.strictObject({
  kind: z.literal('Rollback'),
  deploymentId: deploymentIdSchema,
  application: applicationNameSchema,
  toVersion: versionSchema.optional(),
});
export const scaleRequestSchema = z.strictObject({
  kind: z.literal('Scale'),
  deploymentId: deploymentIdSchema,
  application: applicationNameSchema,
  nodes: uniqueNodes,
  replicasPerNode: z.number().int().min(1).max(64).default(1),
});
export const undeployRequestSchema = z.strictObject({
  kind: z.literal('Undeploy'),
  deploymentId: deploymentIdSchema,
  application: applicationNameSchema,
  nodes: uniqueNodes.optional(),
});

export const requestSchema = z.discriminatedUnion('kind', [
  deployRequestSchema,
  cancelRequestSchema,
  retryRequestSchema,
  rollbackRequestSchema,
  scaleRequestSchema,
  undeployRequestSchema,
]);

export type DeployRequest = z.infer<typeof deployRequestSchema>;
export type DeployRequestInput = z.input<typeof deployRequestSchema>;
export type Request = z.infer<typeof requestSchema>;
export type RequestKind = Request['kind'];
/** The requests that change what runs on nodes; each is carried out by its own workflow. */
export type OperationRequest = Exclude<Request, { kind: 'Cancel' | 'Retry' }>;
export type RollbackRequest = z.infer<typeof rollbackRequestSchema>;
export type ScaleRequest = z.infer<typeof scaleRequestSchema>;
export type UndeployRequest = z.infer<typeof undeployRequestSchema>;
export type ContainerOptions = DeployRequest['container'];
export type HealthCheck = z.infer<typeof healthCheckSchema>;
export type DeploymentTest = z.infer<typeof deploymentTestSchema>;
export type TextMatch = z.infer<typeof textMatchSchema>;
