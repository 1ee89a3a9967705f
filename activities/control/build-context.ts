// A directory on the build host as the Docker Engine's build context: a gzipped tar of it, as
// the Docker CLI sends it. Packed here rather than by dockerode, because dockerode's packer
// (tar-fs, strict) fails on a socket, a FIFO or a device file with an `error` event on a
// stream nobody listens to, which ends the worker's process, and the retried activity then
// ends the next worker too. Here such files are skipped and named, and every error of the
// packing fails the build with a reason.
import { lstatSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createGzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import dockerignore from '@balena/dockerignore';
import { pack } from 'tar-fs';

export interface PackedContext {
  /** The gzipped tar, to hand to the engine. */
  stream: Readable;
  /** Rejects with the packing's error, if one comes: the build is failed by it. */
  failed: Promise<never>;
  /** Paths of the special files left out (sockets, FIFOs, devices), relative to the context, as found so far. */
  skipped: string[];
}

/** What a tar of a build context cannot hold: the engine could not make anything of it. */
function special(path: string): boolean {
  try {
    const s = lstatSync(path);
    return s.isSocket() || s.isFIFO() || s.isCharacterDevice() || s.isBlockDevice();
  } catch {
    // Gone, or unreadable: the packer says so when it gets there.
    return false;
  }
}

/** Packs `dir` as the context, leaving out what its .dockerignore names, as the Docker CLI does. */
export function packContext(dir: string): PackedContext {
  const skipped: string[] = [];
  let ignoreFile: string | undefined;
  try {
    ignoreFile = readFileSync(join(dir, '.dockerignore'), 'utf8');
  } catch {
    ignoreFile = undefined;
  }
  const keep = ignoreFile !== undefined ? dockerignore({ ignorecase: false }).add(ignoreFile).createFilter() : () => true;
  const tar = pack(dir, {
    ignore(path: string) {
      const name = relative(dir, path);
      if (!keep(name)) return true;
      if (special(path)) {
        skipped.push(name);
        return true;
      }
      return false;
    },
  });
  const gzip = createGzip();
  const failed = new Promise<never>((_, reject) => {
    tar.on('error', (err: Error) => {
      gzip.destroy();
      reject(err);
    });
    gzip.on('error', reject);
  });
  // Awaited by the caller only in a race with the build: never unhandled.
  failed.catch(() => undefined);
  return { stream: tar.pipe(gzip), failed, skipped };
}
