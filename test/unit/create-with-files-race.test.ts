// createWithFiles against a fake engine (a stub of the two dockerode calls it makes): a
// second attempt of the same step that loses the race to create the container takes the
// container the first made, and a container of another deployment under that name is refused.
import type Docker from 'dockerode';
import { createWithFiles } from '../../activities/targets/docker-engine/containers';
import { LABELS } from '../../src/core/labels';

function fakeEngine(owner: string) {
  let inspections = 0;
  const docker = {
    // The first inspection finds nothing; by the time create runs, the other attempt has made it.
    getContainer: () => ({
      inspect: async () => {
        if (inspections++ === 0) throw Object.assign(new Error('no such container'), { statusCode: 404 });
        return { Id: 'c-1', Config: { Labels: { [LABELS.deployment]: owner }, User: '' } };
      },
      putArchive: async () => undefined,
    }),
    createContainer: async () => {
      throw Object.assign(new Error('Conflict. The container name is already in use'), { statusCode: 409 });
    },
  };
  return docker as unknown as Docker;
}

const spec = { name: 'web--d-1--00000000--r0', create: { Image: 'x', Labels: { [LABELS.deployment]: 'd-1' } }, files: [], secrets: [] };
const noSecrets = { resolve: async () => Buffer.alloc(0) };

describe('creating a container twice at once (fake engine)', () => {
  it('takes the container another attempt of the same deployment made', async () => {
    expect(await createWithFiles(fakeEngine('d-1'), 'fog-1', spec, noSecrets)).toEqual({ id: 'c-1', created: false });
  });

  it("refuses the name when the container is another deployment's", async () => {
    await expect(createWithFiles(fakeEngine('d-0'), 'fog-1', spec, noSecrets)).rejects.toThrow("container name web--d-1--00000000--r0 is taken by a container of deployment 'd-0'");
  });
});
