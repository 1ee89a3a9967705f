import { NotDeployedError, UnknownVersionError } from '../../src/core/errors';
import { planOperation, stateAfter, type ApplicationState } from '../../src/core/operation-plan';
import { deployRequestSchema, requestSchema, type OperationRequest } from '../../src/core/schemas/request';
import { minimal } from '../fixtures/requests';

function state(deploymentId: string, version: string, nodes: string[], digest?: string): ApplicationState {
  const request = deployRequestSchema.parse({ ...minimal, deploymentId, application: { ...minimal.application, version }, nodes });
  return { deploymentId, request, ...(digest !== undefined ? { digest } : {}) };
}

const op = (r: Record<string, unknown>) => requestSchema.parse({ deploymentId: 'op-1', application: 'web', ...r }) as OperationRequest;

// Newest first, as the history activity returns it.
const history = [state('d3', '3', ['fog-1', 'fog-2'], 'sha256:c'), state('d2', '2', ['fog-1'], 'sha256:b'), state('d1', '1', ['fog-1'], 'sha256:a')];
// The engines' account: running on fog-1 and fog-2, a stopped copy left on fog-3.
const where = { running: ['fog-1', 'fog-2'], present: ['fog-1', 'fog-2', 'fog-3'] };
const built = (id: string, version: string, digest?: string): ApplicationState => {
  const request = deployRequestSchema.parse({ ...minimal, deploymentId: id, application: { name: 'web', version, source: { context: '/srv/web' } } });
  return { deploymentId: id, request, ...(digest !== undefined ? { digest } : {}) };
};

describe('planning Rollback, Scale and Undeploy from the application history', () => {
  it('rolls back by default to the newest version before the current one, on the nodes the application runs on, with its digest', () => {
    expect(planOperation(op({ kind: 'Rollback' }), history, where)).toEqual({
      rollout: { request: { ...history[1]!.request, deploymentId: 'op-1', nodes: ['fog-1', 'fog-2'] }, digest: 'sha256:b' },
      drop: [],
      version: '2',
    });
  });

  it('skips states of the current version when looking for the one before it (a Scale leaves the version as it was)', () => {
    const scaled = [state('s1', '3', ['fog-1', 'fog-2', 'fog-3']), ...history];
    expect(planOperation(op({ kind: 'Rollback' }), scaled, where).version).toBe('2');
  });

  it('rolls back to a named version', () => {
    expect(planOperation(op({ kind: 'Rollback', toVersion: '1' }), history, where)).toMatchObject({ rollout: { digest: 'sha256:a' }, version: '1' });
  });

  it('refuses a rollback to a version that never ran, or of an application without history, naming what is missing', () => {
    expect(() => planOperation(op({ kind: 'Rollback', toVersion: '9' }), history, where)).toThrow(new UnknownVersionError('web', 'no successful deployment of web:9 is on record'));
    expect(() => planOperation(op({ kind: 'Rollback' }), history.slice(0, 1), where)).toThrow(UnknownVersionError);
    expect(() => planOperation(op({ kind: 'Rollback' }), [], where)).toThrow(NotDeployedError);
    expect(() => planOperation(op({ kind: 'Rollback' }), history, { running: [], present: ['fog-3'] })).toThrow(new NotDeployedError('web', 'web runs on no node; deploy it first'));
  });

  it('never rebuilds: a built version whose digest is not on record cannot be rolled back to or scaled', () => {
    expect(() => planOperation(op({ kind: 'Rollback' }), [built('b2', '2', 'sha256:b'), built('b1', '1')], where)).toThrow(
      new UnknownVersionError('web', 'the image of web:1 is not on record; deploy that version again instead'),
    );
    expect(() => planOperation(op({ kind: 'Scale', nodes: ['fog-1'] }), [built('b1', '1')], where)).toThrow(NotDeployedError);
    expect(planOperation(op({ kind: 'Rollback' }), [built('b2', '2', 'sha256:b'), built('b1', '1', 'sha256:a')], where).rollout?.digest).toBe('sha256:a');
  });

  it('scales to exactly the named nodes: rolled out there, taken off every other node holding a container, same version and digest', () => {
    expect(planOperation(op({ kind: 'Scale', nodes: ['fog-2'], replicasPerNode: 2 }), history, where)).toEqual({
      rollout: { request: { ...history[0]!.request, deploymentId: 'op-1', nodes: ['fog-2'], replicasPerNode: 2 }, digest: 'sha256:c' },
      drop: ['fog-1', 'fog-3'],
      version: '3',
    });
  });

  it('undeploys from the named nodes, or by default from every node holding a container of the application, even one no request named', () => {
    expect(planOperation(op({ kind: 'Undeploy', nodes: ['fog-2'] }), history, where)).toEqual({ drop: ['fog-2'], version: '3' });
    expect(planOperation(op({ kind: 'Undeploy' }), history, where)).toEqual({ drop: ['fog-1', 'fog-2', 'fog-3'] });
    expect(planOperation(op({ kind: 'Undeploy' }), [], where)).toEqual({ drop: ['fog-1', 'fog-2', 'fog-3'] });
    expect(planOperation(op({ kind: 'Undeploy' }), history, { running: [], present: [] })).toEqual({ drop: [] });
  });

  it('records the state an operation leaves: the image a Deploy pushed, so that it can run again without a build', () => {
    const deploy = op({ ...built('d9', '9').request, deploymentId: 'op-1' });
    expect(stateAfter(deploy, planOperation(deploy, []), { deployed: ['fog-1'], digest: 'sha256:new' }, [])).toEqual({
      deploymentId: 'op-1',
      request: { ...deploy, nodes: ['fog-1'] },
      digest: 'sha256:new',
    });
  });

  it('records the state an operation leaves: the nodes its rollout reached, or where it still runs after an undeploy', () => {
    const scale = op({ kind: 'Scale', nodes: ['fog-2', 'fog-3'] });
    const plan = planOperation(scale, history, where);
    expect(stateAfter(scale, plan, { deployed: ['fog-2'], digest: 'sha256:c' }, history)).toEqual({
      deploymentId: 'op-1',
      request: { ...plan.rollout!.request, nodes: ['fog-2'] },
      digest: 'sha256:c',
    });
    const undeploy = op({ kind: 'Undeploy', nodes: ['fog-1'] });
    expect(stateAfter(undeploy, planOperation(undeploy, history, where), { deployed: [], where }, history)).toEqual({
      deploymentId: 'op-1',
      request: { ...history[0]!.request, nodes: ['fog-2'] },
      digest: 'sha256:c',
    });
  });
});
