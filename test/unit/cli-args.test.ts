import { parseCommandLine } from '../../src/cli/args';
import { operationId } from '../../src/cli/commands/requests';
import { UsageError } from '../../src/cli/errors';
import { parseSince, recordMatches, visibilityQuery } from '../../src/operations/filters';
import type { DeploymentRecord } from '../../src/core/schemas/record';

const now = new Date('2026-11-23T18:00:00.000Z');

function usageError(argv: string[]): string {
  try {
    parseCommandLine(argv, now);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('--since', () => {
  it('reads a duration back from now in seconds, minutes, hours, days and weeks', () => {
    expect(parseSince('90s', now)).toEqual(new Date('2026-11-23T17:58:30.000Z'));
    expect(parseSince('30m', now)).toEqual(new Date('2026-11-23T17:30:00.000Z'));
    expect(parseSince('12h', now)).toEqual(new Date('2026-11-23T06:00:00.000Z'));
    expect(parseSince('7d', now)).toEqual(new Date('2026-11-16T18:00:00.000Z'));
    expect(parseSince('1w', now)).toEqual(new Date('2026-11-16T18:00:00.000Z'));
  });

  it('reads an ISO 8601 date or date-time', () => {
    expect(parseSince('2026-11-20', now)).toEqual(new Date('2026-11-20T00:00:00.000Z'));
    expect(parseSince('2026-11-20T08:15:00Z', now)).toEqual(new Date('2026-11-20T08:15:00.000Z'));
    expect(parseSince('2026-11-20T08:15:00+01:00', now)).toEqual(new Date('2026-11-20T07:15:00.000Z'));
  });

  it('refuses anything else', () => {
    for (const text of ['yesterday', '7', 'd7', '1y', '-5m', '2026-13-01', '20261120', '']) expect(parseSince(text, now)).toBeUndefined();
    // Before the year 0 (Temporal's visibility query cannot read such a date); the year 0 itself is fine.
    for (const text of ['999999d', '999999w', '750000d']) expect(parseSince(text, now)).toBeUndefined();
    expect(parseSince('0000-01-01', now)).toEqual(new Date('0000-01-01T00:00:00.000Z'));
    expect(parseSince('700000d', now)?.getUTCFullYear()).toBe(110);
  });
});

describe('command line', () => {
  it('gives each command its validated arguments and defaults', () => {
    expect(parseCommandLine(['status', 'd-1', '--follow'], now)).toEqual({ command: 'status', id: 'd-1', follow: true, interval: 1, timeout: 600, json: false });
    expect(parseCommandLine(['deploy', 'app.yaml', '--direct', '--wait', '--id', 'd-2', '--timeout', '30'], now)).toEqual({
      command: 'deploy',
      file: 'app.yaml',
      id: 'd-2',
      direct: true,
      wait: true,
      timeout: 30,
      json: false,
    });
    expect(parseCommandLine(['rollback', 'hello', '--to', '1.0', '--json'], now)).toEqual({ command: 'rollback', app: 'hello', to: '1.0', wait: false, timeout: 600, json: true });
    expect(parseCommandLine(['decide', 'd-1', 'skip'], now)).toEqual({ command: 'decide', id: 'd-1', decision: 'skip', json: false });
    expect(parseCommandLine(['nodes', '--json'], now)).toEqual({ command: 'nodes', json: true });
  });

  it('turns the filters of list and history into values: a duration into a moment, a limit into a number', () => {
    expect(parseCommandLine(['list', '--app', 'hello', '--status', 'Running', '--since', '2h', '--limit', '5'], now)).toEqual({
      command: 'list',
      app: 'hello',
      status: 'Running',
      since: new Date('2026-11-23T16:00:00.000Z'),
      limit: 5,
      json: false,
    });
    expect(parseCommandLine(['history', '--status', 'RolledBack'], now)).toEqual({ command: 'history', status: 'RolledBack', limit: 50, json: false });
  });

  it('gathers repeated --input NAME=VALUE into the inputs of a template, the value as text and everything after the first "="', () => {
    expect(parseCommandLine(['deploy', 'stack.yaml', '--input', 'greeting=hi', '--input', 'query=a=b', '--input', 'empty='], now)).toMatchObject({
      command: 'deploy',
      file: 'stack.yaml',
      input: { greeting: 'hi', query: 'a=b', empty: '' },
    });
    expect(usageError(['deploy', 'stack.yaml', '--input', 'greeting'])).toBe("deploy: --input must be NAME=VALUE, not 'greeting'");
    expect(usageError(['deploy', 'stack.yaml', '--input', '=hi'])).toBe("deploy: --input must be NAME=VALUE, not '=hi'");
    expect(usageError(['deploy', 'stack.yaml', '--input', 'a=1', '--input', 'a=2'])).toBe('deploy: --input gives input a twice');
    expect(usageError(['status', 'd-1', '--input', 'a=1'])).toBe('status: --input is not an option of status');
  });

  it('reads scale, undeploy and validate: nodes as a comma-separated list, replicas as a number, with defaults', () => {
    expect(parseCommandLine(['scale', 'web', '--nodes', 'fog-1, fog-2', '--replicas', '2', '--wait'], now)).toEqual({ command: 'scale', app: 'web', nodes: ['fog-1', 'fog-2'], replicas: 2, wait: true, timeout: 600, json: false });
    expect(parseCommandLine(['scale', 'web', '--nodes', 'fog-1'], now)).toMatchObject({ nodes: ['fog-1'], replicas: 1, wait: false });
    expect(parseCommandLine(['undeploy', 'web'], now)).toEqual({ command: 'undeploy', app: 'web', wait: false, timeout: 600, json: false });
    expect(parseCommandLine(['undeploy', 'web', '--nodes', 'fog-3', '--id', 'web-off'], now)).toMatchObject({ nodes: ['fog-3'], id: 'web-off' });
    expect(parseCommandLine(['validate', 'app.yaml', '--input', 'greeting=hi', '--json'], now)).toEqual({ command: 'validate', file: 'app.yaml', input: { greeting: 'hi' }, json: true });
  });

  it('refuses a scale without nodes, a node named twice, replicas out of range, and a validate that would wait', () => {
    expect(usageError(['scale', 'web'])).toBe('scale: --nodes must name the nodes, e.g. --nodes fog-1,fog-2');
    expect(usageError(['scale', 'web', '--nodes', 'fog-1,,fog-2'])).toBe("scale: --nodes must be node ids separated by commas, not 'fog-1,,fog-2'");
    expect(usageError(['undeploy', 'web', '--nodes', 'fog-1,fog-1'])).toBe('undeploy: --nodes names node fog-1 twice');
    expect(usageError(['scale', 'web', '--nodes', 'fog-1', '--replicas', '65'])).toBe('scale: --replicas must be 1 to 64');
    expect(usageError(['scale', 'web', '--nodes', 'fog-1', '--replicas', '1.5'])).toBe('scale: --replicas must be a whole number');
    expect(usageError(['validate', 'app.yaml', '--wait'])).toBe('validate: --wait is not an option of validate');
  });

  it('answers help for --help', () => {
    expect(parseCommandLine(['status', '--help'], now)).toBe('help');
  });

  it('refuses bad usage with a message that names the argument and what it must be', () => {
    expect(usageError([])).toMatch(/^no command given/);
    expect(usageError(['launch'])).toMatch(/^unknown command 'launch'/);
    expect(usageError(['status'])).toBe("status takes ID, not none");
    expect(usageError(['cancel', 'a', 'b'])).toBe("cancel takes ID, not 'a' 'b'");
    expect(usageError(['status', 'no spaces allowed'])).toMatch(/^status: ID must be 1-128 characters/);
    expect(usageError(['list', '--follow'])).toBe('list: --follow is not an option of list');
    expect(usageError(['list', '--since', 'yesterday'])).toMatch(/^list: --since must be a duration such as 30m/);
    expect(usageError(['history', '--status', 'Running'])).toBe('history: --status must be one of Succeeded, RolledBack, Cancelled, Failed');
    expect(usageError(['list', '--limit', '0'])).toMatch(/^list: --limit /);
    expect(usageError(['decide', 'd-1', 'maybe'])).toBe('decide: DECISION must be one of retry, skip, rollback');
    expect(usageError(['rollback', 'Hello_World'])).toMatch(/^rollback: APP must be 1-63 lowercase letters/);
    expect(usageError(['status', 'd-1', '--timeout', '0'])).toBe('status: --timeout must be a positive number of seconds');
    expect(usageError(['status', 'd-1', '--id', 'd-2'])).toBe('status: ID is given as an argument, not as --id');
    expect(usageError(['nodes', '--frobnicate'])).toMatch(/^Unknown option '--frobnicate'/);
  });
});

describe('filters', () => {
  it('query Temporal for this Deployer’s operations, with the application, status and start time asked for', () => {
    expect(visibilityQuery({}, 'deployer')).toBe(
      'WorkflowType IN ("deployWorkflow", "rollbackWorkflow", "scaleWorkflow", "undeployWorkflow") AND TaskQueue = "deployer"',
    );
    expect(visibilityQuery({ app: 'hello', status: 'RolledBack', since: new Date('2026-11-23T16:00:00.000Z') }, 'deployer')).toBe(
      'WorkflowType IN ("deployWorkflow", "rollbackWorkflow", "scaleWorkflow", "undeployWorkflow") AND TaskQueue = "deployer" AND DeployerApplication = "hello" AND DeployerStatus = "RolledBack" AND StartTime >= "2026-11-23T16:00:00.000Z"',
    );
  });

  it('ask Temporal itself for running deployments, and drop quotes from the task queue', () => {
    expect(visibilityQuery({ status: 'Running' }, 'q"x')).toBe(
      'WorkflowType IN ("deployWorkflow", "rollbackWorkflow", "scaleWorkflow", "undeployWorkflow") AND TaskQueue = "qx" AND ExecutionStatus = "Running"',
    );
  });

  it('keep the records of the application and status asked for, started since the moment asked for', () => {
    const r = (patch: Partial<DeploymentRecord>): DeploymentRecord => ({
      deploymentId: 'd',
      kind: 'Deploy',
      application: 'hello',
      status: 'Succeeded',
      nodes: {},
      startedAt: '2026-11-23T17:00:00.000Z',
      endedAt: '2026-11-23T17:01:00.000Z',
      runId: 'r',
      ...patch,
    });
    const keep = recordMatches({ app: 'hello', status: 'Succeeded', since: new Date('2026-11-23T16:00:00.000Z') });
    expect(keep(r({}))).toBe(true);
    expect(keep(r({ application: 'other' }))).toBe(false);
    expect(keep(r({ status: 'RolledBack' }))).toBe(false);
    expect(keep(r({ startedAt: '2026-11-23T15:59:59.999Z' }))).toBe(false);
    expect(recordMatches({})(r({ application: 'other', status: 'Failed' }))).toBe(true);
  });
});

describe('rollback ids', () => {
  it('name the application and the moment, and are valid deploymentIds', () => {
    expect(operationId('hello', 'rollback', now, 'a1b2c3')).toBe('hello-rollback-20261123T180000Z-a1b2c3');
  });
});
