// Whose a named volume or a Swarm config or secret is, decided from the labels and users the
// drivers find: the application's own is used, anything else is refused with what to do.
import { LABELS } from '../../src/core/labels';
import { swarmObjectRefusal, swarmServiceRefusal, volumeLabels, volumeRefusal } from '../../src/core/ownership';

const grant = `or have an operator give web its data in a volume created with the label ${LABELS.application}=web`;

describe('named volumes', () => {
  it('labels a volume the Deployer creates as the application\'s', () => {
    expect(volumeLabels('web')).toEqual({ [LABELS.managed]: 'true', [LABELS.application]: 'web' });
  });

  it("takes a volume labelled the application's, whoever else mounts it", () => {
    expect(volumeRefusal('fog-1', 'web', { name: 'web-data', labels: volumeLabels('web'), users: [] })).toBeUndefined();
    // An operator's grant: created by hand with the label alone.
    expect(volumeRefusal('fog-1', 'web', { name: 'seed', labels: { [LABELS.application]: 'web' }, users: [{ name: 'loader' }] })).toBeUndefined();
  });

  it("refuses another application's volume, naming its owner and the label that says so", () => {
    expect(volumeRefusal('fog-1', 'web', { name: 'billing-data', labels: volumeLabels('billing'), users: [] })).toBe(
      `volume 'billing-data' on fog-1 belongs to application billing (label ${LABELS.application}=billing), not to web: choose another volume name`,
    );
  });

  it('takes an unlabelled volume that only containers of the application mount: made for it by the engine before volumes were owned', () => {
    expect(volumeRefusal('fog-1', 'web', { name: 'web-data', labels: {}, users: [{ name: 'web--d-1--r0', application: 'web' }, { name: 'web--d-2--r0', application: 'web' }] })).toBeUndefined();
  });

  it('refuses an unlabelled volume that no container of the application mounts, or that others mount too', () => {
    expect(volumeRefusal('fog-1', 'web', { name: 'portainer_data', labels: {}, users: [] })).toBe(
      `volume 'portainer_data' on fog-1 was not created for application web (it has no ${LABELS.application} label) and no container of web mounts it: choose another volume name, ${grant}`,
    );
    expect(volumeRefusal('fog-1', 'web', { name: 'shared', labels: {}, users: [{ name: 'web--d-1--r0', application: 'web' }, { name: 'portainer' }, { name: 'db--d-3--r0', application: 'db' }] })).toBe(
      `volume 'shared' on fog-1 was not created for application web (it has no ${LABELS.application} label) and containers of others mount it (portainer, db--d-3--r0 of application db): choose another volume name, ${grant}`,
    );
  });
});

describe('Swarm configs and secrets', () => {
  const owner = { application: 'web', deploymentId: 'web-7' };
  const labels = (application: string, deployment: string) => ({ [LABELS.managed]: 'true', [LABELS.application]: application, [LABELS.deployment]: deployment });

  it('reuses one the Deployer made for this very deployment', () => {
    expect(swarmObjectRefusal('local', owner, { kind: 'config', name: 'web--fabc', labels: labels('web', 'web-7') })).toBeUndefined();
  });

  it("refuses another application's, another deployment's, and one made outside the Deployer", () => {
    expect(swarmObjectRefusal('local', owner, { kind: 'secret', name: 'web--sabc', labels: labels('billing', 'billing-2') })).toBe(
      "secret 'web--sabc' on swarm local is application billing's (deployment billing-2), not made for deployment web-7 of web: it is not used; an operator may remove it (docker secret rm web--sabc) if it is stale",
    );
    expect(swarmObjectRefusal('local', owner, { kind: 'config', name: 'web--fabc', labels: labels('web', 'web-6') })).toBe(
      "config 'web--fabc' on swarm local is application web's (deployment web-6), not made for deployment web-7 of web: it is not used; an operator may remove it (docker config rm web--fabc) if it is stale",
    );
    expect(swarmObjectRefusal('local', owner, { kind: 'config', name: 'web--fabc', labels: {} })).toBe(
      `config 'web--fabc' on swarm local has no ${LABELS.application} label (the Deployer did not make it), not made for deployment web-7 of web: it is not used; an operator may remove it (docker config rm web--fabc) if it is stale`,
    );
  });
});

describe('Swarm services', () => {
  it("updates or removes only the application's own service of the name", () => {
    expect(swarmServiceRefusal('local', 'web', { name: 'web--swarm-1', labels: { [LABELS.managed]: 'true', [LABELS.application]: 'web' } })).toBeUndefined();
    expect(swarmServiceRefusal('local', 'web', { name: 'web--swarm-1', labels: { [LABELS.application]: 'billing' } })).toBe(
      "service 'web--swarm-1' on swarm local is application billing's, not web's: it is left as it is; an operator may remove it (docker service rm web--swarm-1) if it is stale, or the application take another name",
    );
    expect(swarmServiceRefusal('local', 'web', { name: 'web--swarm-1', labels: {} })).toBe(
      `service 'web--swarm-1' on swarm local has no ${LABELS.application} label (the Deployer did not make it), not web's: it is left as it is; an operator may remove it (docker service rm web--swarm-1) if it is stale, or the application take another name`,
    );
  });
});
