import type { Logger } from '../../src/log';
import { sdkLogFields, sdkLogger } from '../../src/worker/sdk-logger';

describe('SDK log lines', () => {
  it('name the deployment of the workflow they are about', () => {
    expect(sdkLogFields({ workflowId: 'd-1/fog-2', activityType: 'startContainer', attempt: 2 })).toEqual({
      workflowId: 'd-1/fog-2',
      activityType: 'startContainer',
      attempt: 2,
      deploymentId: 'd-1',
    });
  });

  it('carry no deploymentId for a lock workflow or a line about no workflow', () => {
    expect(sdkLogFields({ workflowId: 'lock/hello' })).toEqual({ workflowId: 'lock/hello' });
    expect(sdkLogFields({ sdkComponent: 'worker' })).toEqual({ sdkComponent: 'worker' });
  });

  it('write errors as their stack, which JSON would otherwise drop', () => {
    const error = new Error('engine unreachable');
    expect(sdkLogFields({ error })).toEqual({ error: error.stack });
  });

  it('go to the level of the Deployer logger that matches the SDK level', () => {
    const seen: string[] = [];
    const to = (level: string) => (message: string) => void seen.push(`${level} ${message}`);
    const log: Logger = { debug: to('debug'), info: to('info'), warn: to('warn'), error: to('error') };
    const sdk = sdkLogger(log);
    sdk.trace('t');
    sdk.info('i');
    sdk.log('WARN', 'w');
    sdk.error('e');
    expect(seen).toEqual(['debug t', 'info i', 'warn w', 'error e']);
  });
});
