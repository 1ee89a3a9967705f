#!/usr/bin/env node
// The deployer CLI: sends requests the way the Scheduler does (through Kafka) and follows
// their status events. Exit codes: 0 succeeded, 1 the deployment did not succeed,
// 2 bad usage or input, 3 the platform (Kafka, Temporal) could not be reached.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { loadConfig } from '../config';
import { createKafka, createProducer } from '../kafka/client';
import { requestSchema } from '../schemas/request';
import { isTerminal, statusEventSchema, type StatusEvent } from '../schemas/event';

const USAGE = `usage:
  deployer deploy FILE [--id ID] [--version VERSION] [--wait] [--timeout SECONDS] [--json]
      Send the request in FILE (JSON or YAML, in the contract's form) to deployer.requests.
      A relative source.context is taken relative to FILE. --wait follows the deployment's
      events until it ends.
  deployer events ID [--timeout SECONDS] [--json]
      Print the status events of deployment ID until its terminal event.

exit codes: 0 succeeded, 1 did not succeed, 2 bad usage or input, 3 platform unreachable`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

const optionsSchema = z.object({
  id: z.string().optional(),
  version: z.string().optional(),
  wait: z.boolean().default(false),
  json: z.boolean().default(false),
  timeout: z.coerce.number().positive('must be a positive number of seconds').default(600),
});

function readRequest(file: string, overrides: { id?: string; version?: string }) {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object') throw new UsageError(`${file} does not hold a request object`);
  const request = raw as Record<string, unknown> & { application?: { version?: string; source?: { context?: string } } };
  if (overrides.id !== undefined) request.deploymentId = overrides.id;
  if (overrides.version !== undefined && request.application) request.application.version = overrides.version;
  const context = request.application?.source?.context;
  if (typeof context === 'string' && !context.startsWith('/') && !/^[a-z+]+:\/\/|^git@/.test(context)) {
    request.application!.source!.context = resolve(dirname(file), context);
  }
  const parsed = requestSchema.safeParse(request);
  if (!parsed.success) throw new UsageError(`${file} is not a valid request:\n${z.prettifyError(parsed.error)}`);
  return { request: parsed.data, wire: request };
}

async function followEvents(deploymentId: string, timeoutSeconds: number, print: (e: StatusEvent) => void): Promise<StatusEvent> {
  const config = loadConfig();
  const kafka = createKafka(config, `${config.kafka.clientId}-cli`);
  const consumer = kafka.consumer({ groupId: `deployer-cli-${process.pid}-${Date.now()}` });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.kafka.topics.events, fromBeginning: true });
    return await new Promise<StatusEvent>((resolvePromise, reject) => {
      const seen = new Set<number>();
      const timer = setTimeout(() => reject(new Error(`no terminal event for ${deploymentId} within ${timeoutSeconds} s`)), timeoutSeconds * 1000);
      consumer
        .run({
          eachMessage: async ({ message }) => {
            if (message.key?.toString() !== deploymentId || message.value === null) return;
            const event = statusEventSchema.safeParse(JSON.parse(message.value.toString()));
            if (!event.success || seen.has(event.data.seq)) return;
            seen.add(event.data.seq);
            print(event.data);
            if (isTerminal(event.data.phase)) {
              clearTimeout(timer);
              resolvePromise(event.data);
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}

function printer(json: boolean) {
  return (e: StatusEvent) => {
    if (json) process.stdout.write(`${JSON.stringify(e)}\n`);
    else process.stdout.write(`${e.at}  ${e.phase.padEnd(11)} ${(e.node ?? '').padEnd(8)} ${e.message}\n`);
  };
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      id: { type: 'string' },
      version: { type: 'string' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help || positionals.length === 0) {
    process.stdout.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const opts = optionsSchema.safeParse(values);
  if (!opts.success) throw new UsageError(z.prettifyError(opts.error));
  const [command, arg] = positionals;
  if (arg === undefined) throw new UsageError(`${command} needs an argument\n${USAGE}`);

  switch (command) {
    case 'deploy': {
      const { request, wire } = readRequest(arg, opts.data);
      const config = loadConfig();
      const producer = createProducer(createKafka(config, `${config.kafka.clientId}-cli`));
      await producer.connect();
      const key = 'application' in request && typeof request.application === 'object' ? request.application.name : request.deploymentId;
      await producer.send({ topic: config.kafka.topics.requests, acks: -1, messages: [{ key, value: JSON.stringify(wire) }] });
      await producer.disconnect();
      if (!opts.data.json) process.stdout.write(`sent ${request.kind} ${request.deploymentId} to ${config.kafka.topics.requests}\n`);
      if (!opts.data.wait) return 0;
      const last = await followEvents(request.deploymentId, opts.data.timeout, printer(opts.data.json));
      return last.phase === 'Succeeded' ? 0 : 1;
    }
    case 'events': {
      const last = await followEvents(arg, opts.data.timeout, printer(opts.data.json));
      return last.phase === 'Succeeded' ? 0 : 1;
    }
    default:
      throw new UsageError(`unknown command '${command}'\n${USAGE}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`deployer: ${err.message}\n`);
    process.exit(err instanceof UsageError || err.name === 'TypeError' ? 2 : 3);
  },
);
