// The one place where the Deployer's settings are read. Every setting is an environment
// variable with a documented default (see README "Configuration"); the defaults match the
// local stack that scripts/stack.sh brings up, so nothing needs setting on one machine.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

const list = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(z.array(z.string()).min(1, 'must name at least one entry'));

export const configSchema = z.object({
  DEPLOYER_STATE: z.string().min(1).optional(),
  XDG_STATE_HOME: z.string().optional(),
  TEMPORAL_ADDRESS: z.string().default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().default('default'),
  DEPLOYER_TASK_QUEUE: z.string().default('deployer'),
  KAFKA_BROKERS: list.default(['127.0.0.1:19092']),
  KAFKA_CLIENT_ID: z.string().default('deployer'),
  KAFKA_GROUP_ID: z.string().default('deployer-bridge'),
  DEPLOYER_REQUESTS_TOPIC: z.string().default('deployer.requests'),
  DEPLOYER_EVENTS_TOPIC: z.string().default('deployer.events'),
  DEPLOYER_DLQ_TOPIC: z.string().default('deployer.requests.dlq'),
  DEPLOYER_INVENTORY: z.string().min(1).optional(),
  DEPLOYER_SECRETS_DIR: z.string().min(1).optional(),
  DEPLOYER_MAX_REQUEST_BYTES: z.coerce.number().int().positive().default(1024 * 1024),
});

export type Config = {
  statePath: string;
  temporal: { address: string; namespace: string; taskQueue: string };
  kafka: {
    brokers: string[];
    clientId: string;
    groupId: string;
    topics: { requests: string; events: string; deadLetters: string };
    maxRequestBytes: number;
  };
  inventoryPath: string;
  /** Directory of the default secret provider: one file per secret reference. */
  secretsPath: string;
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
    temporal: { address: c.TEMPORAL_ADDRESS, namespace: c.TEMPORAL_NAMESPACE, taskQueue: c.DEPLOYER_TASK_QUEUE },
    kafka: {
      brokers: c.KAFKA_BROKERS,
      clientId: c.KAFKA_CLIENT_ID,
      groupId: c.KAFKA_GROUP_ID,
      topics: { requests: c.DEPLOYER_REQUESTS_TOPIC, events: c.DEPLOYER_EVENTS_TOPIC, deadLetters: c.DEPLOYER_DLQ_TOPIC },
      maxRequestBytes: c.DEPLOYER_MAX_REQUEST_BYTES,
    },
    inventoryPath: c.DEPLOYER_INVENTORY ?? join(statePath, 'inventory.json'),
    secretsPath: c.DEPLOYER_SECRETS_DIR ?? join(statePath, 'secrets'),
  };
}
