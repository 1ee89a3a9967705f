import { viewOfRecord, type DeploymentView } from '../../src/operations/describe';
import { renderDeployment, renderDeployments, renderNodes, renderRecords, table } from '../../src/cli/format';
import type { DeploymentRecord } from '../../src/core/schemas/record';

const running: DeploymentView = {
  deploymentId: 'd-7',
  kind: 'Deploy',
  application: 'hello',
  version: '2.0',
  status: 'Running',
  phase: 'Deploying',
  nodes: {
    'fog-1': { state: 'Healthy', message: 'running hello--d-7--ab12--r0' },
    'fog-2': { state: 'Deploying', message: 'pulling' },
    'fog-10': { state: 'Pending', message: 'waiting' },
  },
  startedAt: '2026-11-23T17:40:00.000Z',
  source: 'temporal',
};

const record: DeploymentRecord = {
  deploymentId: 'd-6',
  kind: 'Rollback',
  application: 'hello',
  version: '1.0',
  status: 'RolledBack',
  reason: 'fog-1: GET / answered 500',
  nodes: { 'fog-1': { state: 'RolledBack', reason: 'removed hello--d-6--cd34--r0; restarted nothing' } },
  startedAt: '2026-11-23T17:30:00.000Z',
  endedAt: '2026-11-23T17:31:00.000Z',
  runId: 'run-1',
};

describe('CLI output', () => {
  it('pads every column but the last to its widest cell', () => {
    expect(table(['A', 'LONGER'], [['wide cell', 'x'], ['y', '']])).toEqual(['A          LONGER', 'wide cell  x', 'y']);
  });

  it('shows a running deployment with its phase and one line per node', () => {
    expect(renderDeployment(running)).toEqual([
      'd-7  Deploy hello:2.0  Running (Deploying)',
      'started 2026-11-23T17:40:00.000Z',
      'NODE    STATE      MESSAGE',
      'fog-1   Healthy    running hello--d-7--ab12--r0',
      'fog-2   Deploying  pulling',
      'fog-10  Pending    waiting',
    ]);
  });

  it('ends the view of a deployment that ended with its outcome and reason', () => {
    expect(renderDeployment(viewOfRecord(record))).toEqual([
      'd-6  Rollback hello:1.0  RolledBack',
      'started 2026-11-23T17:30:00.000Z, ended 2026-11-23T17:31:00.000Z, from its record',
      'NODE   STATE       MESSAGE',
      'fog-1  RolledBack  removed hello--d-6--cd34--r0; restarted nothing',
      'outcome: RolledBack: fog-1: GET / answered 500',
    ]);
  });

  it('lists each node\'s configuration check and tests, a failed one marked, under the nodes', () => {
    const view: DeploymentView = {
      deploymentId: 'd-9',
      status: 'RolledBack',
      nodes: {
        'fog-1': {
          state: 'RolledBack',
          message: 'restarted hello--d-8--ab12--r0',
          checks: [
            { name: 'config', kind: 'config', passed: true, detail: '`nginx -t` passed', elapsedMs: 80 },
            { name: 'home', kind: 'http', passed: false, detail: 'expected status 200, got status 503', elapsedMs: 5 },
          ],
        },
        'fog-2': { state: 'RolledBack', message: 'removed nothing' },
      },
      source: 'temporal',
    };
    expect(renderDeployment(view)).toEqual([
      'd-9  RolledBack',
      'NODE   STATE       MESSAGE',
      'fog-1  RolledBack  restarted hello--d-8--ab12--r0',
      'fog-2  RolledBack  removed nothing',
      'NODE   CHECK         RESULT  DETAIL',
      'fog-1  config check  passed  `nginx -t` passed',
      'fog-1  home (http)   FAILED  expected status 200, got status 503',
      'outcome: RolledBack',
    ]);
  });

  it('shows a deployment Temporal knows only by id without empty columns', () => {
    expect(renderDeployment({ deploymentId: 'd-8', status: 'Succeeded', nodes: {}, source: 'temporal' })).toEqual(['d-8  Succeeded', 'outcome: Succeeded']);
  });

  it('lists deployments with their Deployer status, or Temporal’s when they have none yet', () => {
    expect(
      renderDeployments([
        { deploymentId: 'd-7', kind: 'Deploy', application: 'hello', version: '2.0', status: 'Deploying', execution: 'RUNNING', startedAt: '2026-11-23T17:40:00.000Z' },
        { deploymentId: 'd-6', kind: 'Rollback', application: 'hello', execution: 'FAILED', startedAt: '2026-11-23T17:30:00.000Z', endedAt: '2026-11-23T17:31:00.000Z' },
      ]),
    ).toEqual([
      'DEPLOYMENT  KIND      APPLICATION  STATUS     STARTED                   ENDED',
      'd-7         Deploy    hello:2.0    Deploying  2026-11-23T17:40:00.000Z',
      'd-6         Rollback  hello        FAILED     2026-11-23T17:30:00.000Z  2026-11-23T17:31:00.000Z',
    ]);
    expect(renderDeployments([])).toEqual(['no deployments']);
  });

  it('lists records with each node’s final state and the reason', () => {
    expect(renderRecords([record])).toEqual([
      'DEPLOYMENT  KIND      APPLICATION  STATUS      NODES             ENDED                     REASON',
      'd-6         Rollback  hello:1.0    RolledBack  fog-1=RolledBack  2026-11-23T17:31:00.000Z  fog-1: GET / answered 500',
    ]);
    expect(renderRecords([])).toEqual(['no records']);
  });

  it('shows each node with its target, its fleet status, source, site and generation, its platform, what runs there, and a node that does not answer as not ready', () => {
    const running = { name: 'hello--d-7--ab12--r0', application: 'hello', version: '2.0', deploymentId: 'd-7', running: true, state: 'running' };
    const ready = { ready: true, platform: { os: 'linux', architecture: 'amd64' } };
    expect(
      renderNodes([
        { node: 'fog-1', address: '10.77.0.11', target: 'docker-engine', fleet: { status: 'Online', source: 'file' }, status: ready, instances: [running] },
        { node: 'fog-2', address: '10.77.0.12', target: 'docker-engine', fleet: { status: 'Draining', source: 'topic', generation: 7, site: 'greenhouse-2' }, status: ready, instances: [] },
        { node: 'fog-3', address: '10.77.0.13', target: 'docker-engine', fleet: { status: 'Online', source: 'topic', generation: 3 }, status: { ready: false, detail: 'unreachable: connect ECONNREFUSED 10.77.0.13:2376' }, instances: [] },
      ]),
    ).toEqual([
      'fog-1  10.77.0.11  docker-engine  Online (file)  linux/amd64  1 instance(s)',
      '  APPLICATION  DEPLOYMENT  STATE    INSTANCE',
      '  hello:2.0    d-7         running  hello--d-7--ab12--r0',
      'fog-2  10.77.0.12  docker-engine  Draining (topic, generation 7, site greenhouse-2)  linux/amd64  nothing deployed',
      'fog-3  10.77.0.13  docker-engine  Online (topic, generation 3)  not ready: unreachable: connect ECONNREFUSED 10.77.0.13:2376',
    ]);
  });

});
