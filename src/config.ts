// The one place where the Deployer's settings are read. Every setting is an environment
// variable with a documented default (docs/configuration.md); the defaults match the local
// stack that scripts/stack.sh brings up, so nothing needs setting on one machine, but what a
// build may read: none by default, the local stack's set by scripts/services.sh.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { gitPrefixProblem } from './core/git-source';
import { LOCK_IDLE_MS } from './core/lock-protocol';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1, 'must name at least one entry'));

/** Entries split at `separator`, none when empty; each refused with `problemOf`'s words, after its own value. */
const entries = (separator: RegExp, problemOf: (entry: string) => string | undefined) =>
  z
    .string()
    .transform((s) => s.split(separator).map((x) => x.trim()).filter(Boolean))
    .pipe(
      z.array(
        z.string().superRefine((entry, ctx) => {
          const problem = problemOf(entry);
          if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${entry} ${problem}` });
        }),
      ),
    );

/** Absolute directories, separated by ":" (as in PATH) or ",". */
const directories = entries(/[:,]/, (d) =>
  d.startsWith('/') && !d.split('/').some((seg) => seg === '.' || seg === '..') ? undefined : 'must be an absolute directory such as /srv/builds, without "." or ".." segments',
);

/**
 * Where spans go: OTLP over HTTP. Credentials belong in OTEL_EXPORTER_OTLP_HEADERS, which the
 * exporter reads itself, not in a URL that ends up in logs and error messages.
 */
const otlpUrl = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL such as http://127.0.0.1:4318' })
  // Run even when the URL check failed: a URL that does not parse is that check's to report.
  .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), 'must not hold credentials: put them in OTEL_EXPORTER_OTLP_HEADERS');

export const configSchema = z.object({
  DEPLOYER_STATE: z.string().min(1).optional(),
  XDG_STATE_HOME: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  DEPLOYER_TASK_QUEUE: z.string().default('deployer'),
  DEPLOYER_SITE_TASK_QUEUE: z.string().min(1).optional(),
  KAFKA_BROKERS: list.default(['127.0.0.1:19092']),
  KAFKA_CLIENT_ID: z.string().default('deployer'),
  KAFKA_GROUP_ID: z.string().default('deployer-bridge'),
  DEPLOYER_REQUESTS_TOPIC: z.string().default('deployer.requests'),
  DEPLOYER_EVENTS_TOPIC: z.string().default('deployer.events'),
  DEPLOYER_DLQ_TOPIC: z.string().default('deployer.requests.dlq'),
  DEPLOYER_RECORDS_TOPIC: z.string().default('deployer.records'),
  // Empty: the inventory file alone, no Node Manager (docs/node-manager.md).
  DEPLOYER_NODES_TOPIC: z.string().default('platform.nodes'),
  DEPLOYER_INVENTORY: z.string().min(1).optional(),
  DEPLOYER_SECRETS_DIR: z.string().min(1).optional(),
  DEPLOYER_MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
  DEPLOYER_PAYLOAD_ENCRYPTION: z.enum(['on', 'off']).default('on'),
  DEPLOYER_PAYLOAD_KEYS_FILE: z.string().min(1).optional(),
  DEPLOYER_CODEC_HOST: z.string().min(1).default('127.0.0.1'),
  DEPLOYER_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8234),
  DEPLOYER_CODEC_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  DEPLOYER_CODEC_ORIGINS: list.default(['http://127.0.0.1:8233']),
  DEPLOYER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  DEPLOYER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  DEPLOYER_BRIDGE_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  DEPLOYER_WORKFLOW_BUNDLE: z.string().min(1).optional(),
  DEPLOYER_LOCK_IDLE_MS: z.coerce.number().int().positive().default(LOCK_IDLE_MS),
  DEPLOYER_BUILD_ROOTS: directories.default([]),
  DEPLOYER_GIT_PREFIXES: entries(/,/, gitPrefixProblem).default([]),
  KAFKA_TLS: z.enum(['on', 'off']).default('off'),
  KAFKA_TLS_CA_FILE: z.string().startsWith('/', 'must be an absolute file path').optional(),
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional(),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD_FILE: z.string().startsWith('/', 'must be an absolute file path').optional(),
  // 8080 is the Temporal UI's inside docker-compose.yml and the demo's web application's.
  DEPLOYER_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  DEPLOYER_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8090),
  DEPLOYER_HTTP_TOKENS_FILE: z.string().startsWith('/', 'must be an absolute file path').optional(),
  DEPLOYER_HTTP_TLS_CERT_FILE: z.string().startsWith('/', 'must be an absolute file path').optional(),
  DEPLOYER_HTTP_TLS_KEY_FILE: z.string().startsWith('/', 'must be an absolute file path').optional(),
  // Tracing (docs/tracing.md), by the OpenTelemetry SDK's own names: on only when an endpoint is set.
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpUrl.optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: otlpUrl.optional(),
  OTEL_SERVICE_NAME: z.string().min(1).default('deployer'),
  OTEL_SDK_DISABLED: z.enum(['true', 'false']).default('false'),
}).superRefine((c, ctx) => {
  const need = (key: keyof typeof c, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
  if (c.KAFKA_TLS_CA_FILE !== undefined && c.KAFKA_TLS !== 'on') need('KAFKA_TLS', 'must be "on" when KAFKA_TLS_CA_FILE is set');
  // Half a TLS setting would serve plain HTTP to someone who asked for HTTPS.
  if (c.DEPLOYER_HTTP_TLS_CERT_FILE !== undefined && c.DEPLOYER_HTTP_TLS_KEY_FILE === undefined) need('DEPLOYER_HTTP_TLS_KEY_FILE', 'is required with DEPLOYER_HTTP_TLS_CERT_FILE (the private key of that certificate, PEM)');
  if (c.DEPLOYER_HTTP_TLS_KEY_FILE !== undefined && c.DEPLOYER_HTTP_TLS_CERT_FILE === undefined) need('DEPLOYER_HTTP_TLS_CERT_FILE', 'is required with DEPLOYER_HTTP_TLS_KEY_FILE (the certificate chain, PEM)');
  if (c.KAFKA_SASL_MECHANISM !== undefined) {
    // Every request and its secrets' references cross the network with the credentials.
    if (c.KAFKA_TLS !== 'on') need('KAFKA_TLS', `must be "on" with KAFKA_SASL_MECHANISM: without TLS the credentials and every message would cross the network in the clear`);
    if (c.KAFKA_SASL_USERNAME === undefined) need('KAFKA_SASL_USERNAME', 'is required with KAFKA_SASL_MECHANISM');
    if (c.KAFKA_SASL_PASSWORD_FILE === undefined) need('KAFKA_SASL_PASSWORD_FILE', 'is required with KAFKA_SASL_MECHANISM (a file holding the password, never the password itself)');
  } else if (c.KAFKA_SASL_USERNAME !== undefined || c.KAFKA_SASL_PASSWORD_FILE !== undefined) {
    need('KAFKA_SASL_MECHANISM', 'is required with KAFKA_SASL_USERNAME or KAFKA_SASL_PASSWORD_FILE: plain, scram-sha-256 or scram-sha-512');
  }
});

/** A file a setting names, read now so that a wrong path fails at start, in words. */
function readSetting(name: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`invalid configuration:\n✖ cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n  → at ${name}`);
  }
}

/** A setting that must never reach a log: it prints as [redacted]; only reveal() gives the value. */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return '[redacted]';
  }
  toJSON(): string {
    return '[redacted]';
  }
}

export type Config = {
  statePath: string;
  /**
   * `taskQueue`: the main queue (workflows, and nodes without a queue of their own).
   * `siteTaskQueue`: set for a site worker, which serves only the nodes of that queue.
   */
  temporal: { address: string; namespace: string; taskQueue: string; siteTaskQueue?: string };
  kafka: {
    brokers: string[];
    clientId: string;
    groupId: string;
    /**
     * `records`: one deployment record per deploymentId, on a compacted topic (README "Deployment records").
     * `nodes`: the Node Manager's compacted topic of node records (docs/node-manager.md); unset, the inventory file alone.
     */
    topics: { requests: string; events: string; deadLetters: string; records: string; nodes?: string };
    maxRequestBytes: number;
    /** TLS to the brokers, `ca` (PEM) trusted besides the system's CAs. */
    tls?: { ca?: string };
    /** SASL authentication (always over TLS). */
    sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: Secret };
  };
  inventoryPath: string;
  /** Directory of the default secret provider: one file per secret reference. */
  secretsPath: string;
  /** Encryption of every workflow and activity payload (src/codec); keys in a JSON file. */
  payloadEncryption: { enabled: boolean; keysPath: string };
  /** The codec server through which the Temporal UI and CLI show encrypted payloads. */
  codecServer: { host: string; port: number; token?: Secret; origins: string[] };
  /** Where the worker and the bridge serve their Prometheus metrics (port 0: any free port). */
  metrics: { host: string; workerPort: number; bridgePort: number };
  /** A prebuilt workflow bundle (bundleWorkflowCode's output); unset, a worker bundles the workflows at start. */
  workflowBundlePath?: string;
  /** How long an application's lock with no holder and nobody waiting lives before it ends (ms). */
  lockIdleMs: number;
  /**
   * What a build may read. `roots`: the directories of the build host a context may lie in,
   * once its symbolic links are resolved; `gitPrefixes`: the URL prefixes a git source must
   * start with. Neither has a default: none set, no build of that kind is allowed.
   */
  build: { roots: string[]; gitPrefixes: string[] };
  /**
   * The HTTP API (src/http, docs/http-api.md): where it listens, the file of its bearer
   * tokens' salted hashes, and its certificate and key (PEM, read at start) when it serves HTTPS.
   */
  http: { host: string; port: number; tokensPath: string; tls?: { cert: string; key: Secret } };
  /**
   * OpenTelemetry traces (docs/tracing.md), unset when off: then no SDK starts and no
   * interceptor runs. `endpoint`: the OTLP/HTTP traces URL (…/v1/traces); `serviceName`: the
   * service the spans are filed under.
   */
  tracing?: { endpoint: string; serviceName: string };
};

/** Thrown when the environment holds a setting the Deployer cannot use. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(`invalid configuration:\n${z.prettifyError(parsed.error)}`);
  }
  const c = parsed.data;
  // Same default as scripts/lib.sh, so the CLI finds what the stack scripts made.
  const statePath = c.DEPLOYER_STATE ?? join(c.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'deployer');
  return {
    statePath,
    temporal: {
      address: c.TEMPORAL_ADDRESS,
      namespace: c.TEMPORAL_NAMESPACE,
      taskQueue: c.DEPLOYER_TASK_QUEUE,
      ...(c.DEPLOYER_SITE_TASK_QUEUE !== undefined ? { siteTaskQueue: c.DEPLOYER_SITE_TASK_QUEUE } : {}),
    },
    kafka: {
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID,
      groupId: c.KAFKA_GROUP_ID,
      topics: { requests: c.DEPLOYER_REQUESTS_TOPIC, events: c.DEPLOYER_EVENTS_TOPIC, deadLetters: c.DEPLOYER_DLQ_TOPIC, records: c.DEPLOYER_RECORDS_TOPIC, ...(c.DEPLOYER_NODES_TOPIC !== '' ? { nodes: c.DEPLOYER_NODES_TOPIC } : {}) },
      maxRequestBytes: c.DEPLOYER_MAX_REQUEST_BYTES,
      ...(c.KAFKA_TLS === 'on' ? { tls: c.KAFKA_TLS_CA_FILE !== undefined ? { ca: readSetting('KAFKA_TLS_CA_FILE', c.KAFKA_TLS_CA_FILE) } : {} } : {}),
      ...(c.KAFKA_SASL_MECHANISM !== undefined
        ? { sasl: { mechanism: c.KAFKA_SASL_MECHANISM, username: c.KAFKA_SASL_USERNAME!, password: new Secret(readSetting('KAFKA_SASL_PASSWORD_FILE', c.KAFKA_SASL_PASSWORD_FILE!).trim()) } }
        : {}),
    },
    inventoryPath: c.DEPLOYER_INVENTORY ?? join(statePath, 'inventory.json'),
    secretsPath: c.DEPLOYER_SECRETS_DIR ?? join(statePath, 'secrets'),
    payloadEncryption: {
      enabled: c.DEPLOYER_PAYLOAD_ENCRYPTION === 'on',
      keysPath: c.DEPLOYER_PAYLOAD_KEYS_FILE ?? join(statePath, 'payload-keys.json'),
    },
    codecServer: {
      host: c.DEPLOYER_CODEC_HOST,
      port: c.DEPLOYER_CODEC_PORT,
      ...(c.DEPLOYER_CODEC_TOKEN !== undefined ? { token: new Secret(c.DEPLOYER_CODEC_TOKEN) } : {}),
      origins: c.DEPLOYER_CODEC_ORIGINS,
    },
    metrics: { host: c.DEPLOYER_METRICS_HOST, workerPort: c.DEPLOYER_METRICS_PORT, bridgePort: c.DEPLOYER_BRIDGE_METRICS_PORT },
    ...(c.DEPLOYER_WORKFLOW_BUNDLE !== undefined ? { workflowBundlePath: c.DEPLOYER_WORKFLOW_BUNDLE } : {}),
    lockIdleMs: c.DEPLOYER_LOCK_IDLE_MS,
    build: { roots: c.DEPLOYER_BUILD_ROOTS, gitPrefixes: c.DEPLOYER_GIT_PREFIXES },
    http: {
      host: c.DEPLOYER_HTTP_HOST,
      port: c.DEPLOYER_HTTP_PORT,
      tokensPath: c.DEPLOYER_HTTP_TOKENS_FILE ?? join(statePath, 'http-tokens.jsonl'),
      ...(c.DEPLOYER_HTTP_TLS_CERT_FILE !== undefined && c.DEPLOYER_HTTP_TLS_KEY_FILE !== undefined
        ? { tls: { cert: readSetting('DEPLOYER_HTTP_TLS_CERT_FILE', c.DEPLOYER_HTTP_TLS_CERT_FILE), key: new Secret(readSetting('DEPLOYER_HTTP_TLS_KEY_FILE', c.DEPLOYER_HTTP_TLS_KEY_FILE)) } }
        : {}),
    },
    ...tracingOf(c),
  };
}

/** As the OpenTelemetry SDK reads its settings: the traces endpoint as given, or the general one with the signal's path appended. */
function tracingOf(c: z.infer<typeof configSchema>): Pick<Config, 'tracing'> {
  if (c.OTEL_SDK_DISABLED === 'true') return {};
  const endpoint = c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (c.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined ? `${c.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces` : undefined);
  return endpoint !== undefined ? { tracing: { endpoint, serviceName: c.OTEL_SERVICE_NAME } } : {};
}
