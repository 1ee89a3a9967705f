// The command line of `deployer`, turned into one validated command. Pure: no I/O, so every
// rule here is tested by equality. Each command accepts only its own options; a value that
// cannot be used is refused with the option's name and what it must be.
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DECISIONS } from '../../workflows/definitions';
import { recordNodeIdSchema } from '../core/schemas/node-record';
import { RECORD_STATUSES } from '../core/schemas/record';
import { applicationNameSchema, deploymentIdSchema, versionSchema } from '../core/schemas/request';
import { LIST_STATUSES, parseSince, SINCE_HELP } from '../operations/filters';
import { UsageError } from './errors';

export const USAGE = `usage: deployer COMMAND [ARGS] [--json]

  deploy FILE [--id ID] [--version VERSION] [--input NAME=VALUE]... [--direct] [--wait] [--timeout SECONDS]
      Send the request in FILE (JSON or YAML, in the contract's form) to deployer.requests;
      when FILE is a TOSCA service template (docs/tosca.md), one Deploy request per application
      in it, dependencies first (--id replaces its metadata.deploymentId, each --input gives
      one of its inputs). A relative source.context is taken relative to FILE. --direct starts
      the workflows in Temporal without Kafka (as the bridge would); --wait follows each
      deployment until it ends.
  events ID [--timeout SECONDS]
      Print the status events of deployment ID until its terminal event.
  status ID [--follow] [--interval SECONDS] [--timeout SECONDS]
      Where deployment ID stands, per node (from Temporal; from its record once Temporal has
      forgotten it). --follow redraws it until the deployment ends, then prints the outcome.
  list [--app APP] [--status STATUS] [--since DURATION|DATE] [--limit N]
      Running and recent deployments, newest first, from Temporal (Running or a phase).
  history [--app APP] [--status STATUS] [--since DURATION|DATE] [--limit N]
      Deployment records (Succeeded, RolledBack, Cancelled, Failed), kept past Temporal's retention.
  cancel ID                       Send a Cancel request: the deployment rolls back and ends Cancelled.
  retry ID                        Send a Retry request: a failed, cancelled or rolled-back deployment runs again.
  rollback APP [--to VERSION] [--id ID] [--wait] [--timeout SECONDS]
      Send a Rollback request (default: the version healthy before the current one).
  scale APP --nodes NODE,... [--replicas N] [--id ID] [--wait] [--timeout SECONDS]
      Send a Scale request: the current version on exactly those nodes, N replicas on each (default 1).
  undeploy APP [--nodes NODE,...] [--id ID] [--wait] [--timeout SECONDS]
      Send an Undeploy request: the application off those nodes (default: every node it runs on).
  validate FILE [--id ID] [--version VERSION] [--input NAME=VALUE]...
      Check a request or a TOSCA service template as the Deployer would (schema, inventory,
      node policy, build sources) and print what would run where; starts nothing. Exit 0 when
      it would be accepted, 2 with every problem when not.
  decide ID retry|skip|rollback   Steer a paused deployment.
  nodes                           The fleet's nodes (inventory file and Node Manager), their status, and what runs on each.
  publish-nodes FILE              Stand in for the Node Manager: send the node records in FILE (one JSON record or an
                                  array of them, docs/node-manager.md) to platform.nodes, each keyed by its nodeId.
  decommission NODE               Stand in for the Node Manager: send NODE's tombstone to platform.nodes.

  DURATION is a number and a unit (s, m, h, d, w), e.g. 30m or 7d; DATE is ISO 8601.
  --json prints one JSON document (one JSON object per line for --follow and --wait).

exit codes: 0 success; 1 the deployment did not succeed, was not found or cannot do that now;
            2 bad usage or input; 3 the platform (Temporal, Kafka) could not be reached`;

const seconds = z.coerce.number().positive('must be a positive number of seconds');

/** Repeated `--input NAME=VALUE`: a TOSCA template's inputs, as text, which the template's input types say how to read. */
const inputs = z.array(z.string()).transform((pairs, ctx) => {
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    const name = pair.slice(0, at);
    if (at < 1) ctx.addIssue({ code: 'custom', message: `must be NAME=VALUE, not '${pair}'` });
    else if (Object.hasOwn(out, name)) ctx.addIssue({ code: 'custom', message: `gives input ${name} twice` });
    else out[name] = pair.slice(at + 1);
  }
  return out;
});
const json = z.boolean().default(false);

/** `--nodes a,b`: node ids, comma-separated, each once. */
const nodeList = z.string({ error: 'must name the nodes, e.g. --nodes fog-1,fog-2' }).transform((text, ctx) => {
  const ids = text.split(',').map((s) => s.trim());
  if (ids.some((id) => id === '')) ctx.addIssue({ code: 'custom', message: `must be node ids separated by commas, not '${text}'` });
  const twice = ids.find((id, i) => ids.indexOf(id) !== i);
  if (twice !== undefined) ctx.addIssue({ code: 'custom', message: `names node ${twice} twice` });
  return ids;
});
const following = { id: deploymentIdSchema.optional(), wait: z.boolean().default(false), timeout: seconds.default(600), json };

function sinceSchema(now: Date) {
  return z.string().transform((text, ctx) => {
    const at = parseSince(text, now);
    if (at === undefined) ctx.addIssue({ code: 'custom', message: SINCE_HELP });
    return at ?? now;
  });
}

function filterOptions(now: Date, statuses: readonly [string, ...string[]]) {
  return {
    app: applicationNameSchema.optional(),
    status: z.enum(statuses, { error: `must be one of ${statuses.join(', ')}` }).optional(),
    since: sinceSchema(now).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(50),
    json,
  };
}

/** Each command: its positional arguments, by name, and its options. */
function commands(now: Date) {
  return {
    deploy: { args: ['FILE'], options: { file: z.string().min(1), id: deploymentIdSchema.optional(), version: versionSchema.optional(), input: inputs.optional(), direct: z.boolean().default(false), wait: z.boolean().default(false), timeout: seconds.default(600), json } },
    events: { args: ['ID'], options: { id: deploymentIdSchema, timeout: seconds.default(600), json } },
    status: { args: ['ID'], options: { id: deploymentIdSchema, follow: z.boolean().default(false), interval: seconds.default(1), timeout: seconds.default(600), json } },
    list: { args: [], options: filterOptions(now, LIST_STATUSES) },
    history: { args: [], options: filterOptions(now, RECORD_STATUSES) },
    cancel: { args: ['ID'], options: { id: deploymentIdSchema, json } },
    retry: { args: ['ID'], options: { id: deploymentIdSchema, json } },
    rollback: { args: ['APP'], options: { app: applicationNameSchema, to: versionSchema.optional(), id: deploymentIdSchema.optional(), wait: z.boolean().default(false), timeout: seconds.default(600), json } },
    scale: { args: ['APP'], options: { app: applicationNameSchema, nodes: nodeList, replicas: z.coerce.number().int('must be a whole number').min(1, 'must be 1 to 64').max(64, 'must be 1 to 64').default(1), ...following } },
    undeploy: { args: ['APP'], options: { app: applicationNameSchema, nodes: nodeList.optional(), ...following } },
    validate: { args: ['FILE'], options: { file: z.string().min(1), id: deploymentIdSchema.optional(), version: versionSchema.optional(), input: inputs.optional(), json } },
    decide: { args: ['ID', 'DECISION'], options: { id: deploymentIdSchema, decision: z.enum(DECISIONS, { error: `must be one of ${DECISIONS.join(', ')}` }), json } },
    nodes: { args: [], options: { json } },
    'publish-nodes': { args: ['FILE'], options: { file: z.string().min(1), json } },
    decommission: { args: ['NODE'], options: { node: recordNodeIdSchema, json } },
  } as const;
}

type Commands = ReturnType<typeof commands>;
export type CommandName = keyof Commands;
type Parsed<N extends CommandName> = { command: N } & z.infer<z.ZodObject<Commands[N]['options']>>;
export type Command = { [N in CommandName]: Parsed<N> }[CommandName];
export type CommandOf<N extends CommandName> = Extract<Command, { command: N }>;

/** Where a positional argument lands among a command's options. */
const POSITIONAL_KEYS: Record<string, string> = { FILE: 'file', ID: 'id', APP: 'app', DECISION: 'decision', NODE: 'node' };

const OPTIONS = {
  id: { type: 'string' },
  version: { type: 'string' },
  input: { type: 'string', multiple: true },
  direct: { type: 'boolean' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
  follow: { type: 'boolean' },
  interval: { type: 'string' },
  app: { type: 'string' },
  status: { type: 'string' },
  since: { type: 'string' },
  limit: { type: 'string' },
  to: { type: 'string' },
  nodes: { type: 'string' },
  replicas: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** `help` when usage was asked for; otherwise the validated command. Throws UsageError. */
export function parseCommandLine(argv: string[], now = new Date()): Command | 'help' {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  const [name, ...rest] = positionals;
  if (name === undefined) throw new UsageError(`no command given\n\n${USAGE}`);
  const all = commands(now);
  if (!Object.hasOwn(all, name)) throw new UsageError(`unknown command '${name}'\n\n${USAGE}`);
  const spec = all[name as CommandName];
  if (rest.length !== spec.args.length) {
    const expected = spec.args.length === 0 ? 'no arguments' : spec.args.join(' ');
    throw new UsageError(`${name} takes ${expected}, not ${rest.length === 0 ? 'none' : rest.map((a) => `'${a}'`).join(' ')}`);
  }
  const input: Record<string, unknown> = { ...values };
  spec.args.forEach((arg, i) => {
    const key = POSITIONAL_KEYS[arg]!;
    if (input[key] !== undefined) throw new UsageError(`${name}: ${arg} is given as an argument, not as --${key}`);
    input[key] = rest[i];
  });
  const result = z.strictObject(spec.options as z.ZodRawShape).safeParse(input);
  if (!result.success) throw new UsageError(describeIssues(name, spec.args, result.error));
  return { command: name, ...result.data } as Command;
}

function describeIssues(command: string, args: readonly string[], error: z.ZodError): string {
  const positional = Object.fromEntries(args.map((a) => [POSITIONAL_KEYS[a]!, a]));
  return error.issues
    .map((issue) => {
      if (issue.code === 'unrecognized_keys') return `${command}: ${issue.keys.map((k) => `--${k}`).join(', ')} ${issue.keys.length > 1 ? 'are not options' : 'is not an option'} of ${command}`;
      const key = String(issue.path[0] ?? '');
      return `${command}: ${positional[key] ?? `--${key}`} ${issue.message}`;
    })
    .join('\n');
}
