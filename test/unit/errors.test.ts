import * as errors from '../../src/core/errors';

describe('named errors', () => {
  it('lists as non-retryable only names of real error classes', () => {
    const classNames = Object.values(errors).filter((v) => typeof v === 'function').map((c) => (c as { name: string }).name);
    for (const name of errors.NON_RETRYABLE) expect(classNames).toContain(name);
  });

  it('keeps transient failures retryable', () => {
    expect(errors.NON_RETRYABLE).not.toContain('EngineUnreachableError');
    expect(errors.NON_RETRYABLE).not.toContain('RegistryError');
  });

  it('gives each error its class name as its type, with the facts as fields', () => {
    const err = new errors.EngineUnreachableError('fog-2');
    expect(err.name).toBe('EngineUnreachableError');
    expect(err.nodeId).toBe('fog-2');
    expect(err.message).toBe("node 'fog-2' is unreachable");
    expect(new errors.EngineUnreachableError('kube-2', { detail: 'its kubelet has not renewed its lease for 41 s' }).message).toBe("node 'kube-2' is unreachable: its kubelet has not renewed its lease for 41 s");
  });

  it('names the site, its queue and the wait in a SiteUnreachableError, whose type stays its literal', () => {
    const err = new errors.SiteUnreachableError('greenhouse-2', 'site-gh2', 60_000);
    expect(err.name).toBe(errors.SITE_UNREACHABLE);
    expect(errors.NON_RETRYABLE).toContain(errors.SITE_UNREACHABLE);
    expect([err.site, err.taskQueue, err.waitedMs]).toEqual(['greenhouse-2', 'site-gh2', 60_000]);
    expect(err.message).toBe('site greenhouse-2 unreachable: no worker polled its queue site-gh2 for 60 s');
  });
});
