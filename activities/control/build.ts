// Image builder adapter: builds the application's image on the build host's Docker Engine
// and pushes it to the registry, returning the digest that nodes then pull. What a build
// may read is decided first (build-source.ts), and what a failed one says (build-failure.ts).
import { Context } from '@temporalio/activity';
import { BuildFailedError, RegistryError } from '../../src/core/errors';
import { isGitSource } from '../../src/core/git-source';
import { pushTag } from '../../src/core/plan';
import type { DeployRequest } from '../../src/core/schemas/request';
import type { Engines } from '../targets/docker-engine/engines';
import { followProgress, type ProgressEvent } from '../targets/docker-engine/containers';
import { packContext, type PackedContext } from './build-context';
import { buildFailureText } from './build-failure';
import { allowedContext, checkGitSource, type BuildSourcePolicy } from './build-source';

type Source = NonNullable<DeployRequest['application']['source']>;

export interface BuildInput {
  application: string;
  version: string;
  source: Source;
}

export function createBuildActivities(engines: Engines, registryPush: () => string, sources: BuildSourcePolicy) {
  return {
    /** Builds `<registry>/<app>:<version>` from a directory on the build host or a git URL. */
    /** `skipped`: special files of the context left out (sockets, FIFOs, devices), when there were any. */
    async buildImage({ application, version, source }: BuildInput): Promise<{ tag: string; skipped?: string[] }> {
      const docker = engines.buildHost();
      const tag = pushTag(registryPush(), application, version);
      const options = {
        t: tag,
        dockerfile: source.dockerfile,
        buildargs: source.buildArgs,
        labels: { 'io.deployer.application': application, 'io.deployer.version': version },
        abortSignal: abortOnCancel(),
      };
      let context: PackedContext | undefined;
      if (isGitSource(source.context)) {
        checkGitSource(source.context, sources);
        // The engine clones the repository itself (Docker Engine API: POST /build?remote=).
        Object.assign(options, { remote: source.context });
      } else {
        // The real directory is packed, the one checked: not the path again, whose links could lead elsewhere by then.
        context = packContext(allowedContext(source.context, source.dockerfile, sources));
      }
      const log: string[] = [];
      try {
        // A git source has no context of its own (undefined): the engine clones it.
        const built = (async () => {
          const stream = await docker.buildImage(context?.stream as never, options);
          await followProgress(docker, stream, (e: ProgressEvent) => {
            if (e.stream) log.push(e.stream.trimEnd());
          });
        })();
        await (context !== undefined ? Promise.race([built, context.failed.catch((err: Error) => Promise.reject(new Error(`reading the build context failed: ${err.message}`)))]) : built);
      } catch (err) {
        const { text, quotesFile } = buildFailureText((err as Error).message, source.dockerfile);
        // The engine's error goes into history as the cause: not when its words are the file's.
        if (quotesFile) throw new BuildFailedError(`building ${tag} failed: ${text}`);
        const tail = log.slice(-10).join('\n');
        throw new BuildFailedError(`building ${tag} failed: ${text}${tail ? `\n${tail}` : ''}`, { cause: err });
      }
      return { tag, ...(context !== undefined && context.skipped.length > 0 ? { skipped: context.skipped } : {}) };
    },

    /** Pushes the tag and returns the registry's digest for it. */
    async pushImage({ tag }: { tag: string }): Promise<{ digest: string }> {
      const docker = engines.buildHost();
      let digest: string | undefined;
      try {
        // The engine insists on an X-Registry-Auth header even for a registry without auth.
        const push = { authconfig: { serveraddress: tag.slice(0, tag.indexOf('/')) }, abortSignal: abortOnCancel() };
        const stream = (await docker.getImage(tag).push(push as never)) as unknown as NodeJS.ReadableStream;
        await followProgress(docker, stream, (e) => {
          if (e.aux?.Digest) digest = e.aux.Digest;
        });
      } catch (err) {
        throw new RegistryError(`pushing ${tag} failed: ${(err as Error).message}`, { cause: err });
      }
      if (digest === undefined) throw new RegistryError(`pushing ${tag} reported no digest`);
      return { digest };
    },
  };
}

function abortOnCancel(): AbortSignal {
  return Context.current().cancellationSignal;
}

export type BuildActivities = ReturnType<typeof createBuildActivities>;
