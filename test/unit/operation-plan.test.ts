import { NotDeployedError, UnknownVersionError } from '../../src/errors';
import { planOperation, stateAfter, type ApplicationState } from '../../src/operation-plan';
import { deployRequestSchema, requestSchema, type OperationRequest } from '../../src/schemas/request';
import { minimal } from '../fixtures/requests';

function state(deploymentId: string, version: string, nodes: string[], digest?: string): ApplicationState {
  const request = deployRequestSchema.parse({ ...minimal, deploymentId, application: { ...minimal.application, version }, nodes });
  return { deploymentId, request, ...(digest !== undefined ? { digest } : {}) };
}

const op = (r: Record<string, unknown>) => requestSchema.parse({ deploymentId: 'op-1', application: 'web', ...r }) as OperationRequest;

// Newest first, as the history activity returns it.
const history = [state('d3', '3', ['fog-1', 'fog-2'], 'sha256:c'), state('d2', '2', ['fog-1'], 'sha256:b'), state('d1', '1', ['fog-1'], 'sha256:a')];

describe('planning Rollback, Scale and Undeploy from the application history', () => {
  it('rolls back by default to the newest version before the current one, on the nodes the current one runs on, with its digest', () => {
    expect(planOperation(op({ kind: 'Rollback' }), history)).toEqual({
      rollout: { request: { ...history[1]!.request, deploymentId: 'op-1', nodes: ['fog-1', 'fog-2'] }, digest: 'sha256:b' },
      drop: [],
      version: '2',
    });
  });

  it('skips states of the current version when looking for the one before it (a Scale leaves the version as it was)', () => {
    const scaled = [state('s1', '3', ['fog-1', 'fog-2', 'fog-3']), ...history];
    expect(planOperation(op({ kind: 'Rollback' }), scaled).version).toBe('2');
  });

  it('rolls back to a named version', () => {
    expect(planOperation(op({ kind: 'Rollback', toVersion: '1' }), history)).toMatchObject({ rollout: { digest: 'sha256:a' }, version: '1' });
  });

  it('refuses a rollback to a version that never ran, or of an application without history, naming what is missing', () => {
    expect(() => planOperation(op({ kind: 'Rollback', toVersion: '9' }), history)).toThrow(new UnknownVersionError('web', 'no successful deployment of web:9 is on record'));
    expect(() => planOperation(op({ kind: 'Rollback' }), history.slice(0, 1))).toThrow(UnknownVersionError);
    expect(() => planOperation(op({ kind: 'Rollback' }), [])).toThrow(NotDeployedError);
  });

  it('scales to exactly the named nodes: rolled out there, dropped elsewhere, same version and digest', () => {
    expect(planOperation(op({ kind: 'Scale', nodes: ['fog-2', 'fog-3'], replicasPerNode: 2 }), history)).toEqual({
      rollout: { request: { ...history[0]!.request, deploymentId: 'op-1', nodes: ['fog-2', 'fog-3'], replicasPerNode: 2 }, digest: 'sha256:c' },
      drop: ['fog-1'],
      version: '3',
    });
  });

  it('undeploys from the named nodes, or by default from every node the application runs on', () => {
    expect(planOperation(op({ kind: 'Undeploy', nodes: ['fog-2'] }), history)).toEqual({ drop: ['fog-2'], version: '3' });
    expect(planOperation(op({ kind: 'Undeploy' }), history)).toEqual({ drop: ['fog-1', 'fog-2'] });
    expect(() => planOperation(op({ kind: 'Undeploy' }), [])).toThrow(NotDeployedError);
  });

  it('records the state an operation leaves: the nodes its rollout reached, or what is left after an undeploy', () => {
    const scale = op({ kind: 'Scale', nodes: ['fog-2', 'fog-3'] });
    const plan = planOperation(scale, history);
    expect(stateAfter(scale, plan, ['fog-2'], history)).toEqual({
      deploymentId: 'op-1',
      request: { ...plan.rollout!.request, nodes: ['fog-2'] },
      digest: 'sha256:c',
    });
    const undeploy = op({ kind: 'Undeploy', nodes: ['fog-1'] });
    expect(stateAfter(undeploy, planOperation(undeploy, history), [], history)).toEqual({
      deploymentId: 'op-1',
      request: { ...history[0]!.request, nodes: ['fog-2'] },
      digest: 'sha256:c',
    });
  });
});
