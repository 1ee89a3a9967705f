// Images made for tests straight through the registry's HTTP API (Docker Registry v2 / OCI
// distribution): a copy of an image whose config says another platform, and manifest lists.
// No emulator is needed: a node is to refuse such an image before running anything of it.
import { createHash } from 'node:crypto';

const MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const sha256 = (body: Buffer | string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;

async function ok(res: Response, what: string): Promise<Response> {
  if (!res.ok) throw new Error(`registry: ${what}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

/** Makes `to:tag` in `registry` (host:port, plain HTTP) a copy of `from:tag` whose config says `platform`. Returns its manifest's digest. */
export async function pushAsPlatform(registry: string, from: { name: string; tag: string }, to: { name: string; tag: string }, platform: Platform): Promise<{ digest: string; size: number }> {
  const base = `http://${registry}/v2`;
  const manifest = (await (await ok(await fetch(`${base}/${from.name}/manifests/${from.tag}`, { headers: { Accept: MANIFEST } }), 'reading the manifest')).json()) as {
    config: { digest: string; size: number; mediaType: string };
    layers: { digest: string }[];
  };
  const config = (await (await ok(await fetch(`${base}/${from.name}/blobs/${manifest.config.digest}`), 'reading the config')).json()) as Record<string, unknown>;
  const changed = Buffer.from(JSON.stringify({ ...config, os: platform.os, architecture: platform.architecture, ...(platform.variant ? { variant: platform.variant } : {}) }));
  // The layers are mounted from the source repository; the config is uploaded anew.
  for (const layer of manifest.layers) {
    await ok(await fetch(`${base}/${to.name}/blobs/uploads/?mount=${layer.digest}&from=${from.name}`, { method: 'POST' }), `mounting ${layer.digest}`);
  }
  const digest = sha256(changed);
  const upload = await ok(await fetch(`${base}/${to.name}/blobs/uploads/`, { method: 'POST' }), 'starting an upload');
  const location = new URL(upload.headers.get('location')!, `http://${registry}`);
  location.searchParams.set('digest', digest);
  await ok(await fetch(location, { method: 'PUT', body: changed, headers: { 'Content-Type': 'application/octet-stream' } }), 'uploading the config');
  const body = JSON.stringify({ ...manifest, config: { ...manifest.config, digest, size: changed.length } });
  await ok(await fetch(`${base}/${to.name}/manifests/${to.tag}`, { method: 'PUT', body, headers: { 'Content-Type': MANIFEST } }), 'writing the manifest');
  return { digest: sha256(body), size: Buffer.byteLength(body) };
}

/** Makes `name:tag` a manifest list of `entries`, manifests already in repository `name`. */
export async function pushManifestList(registry: string, name: string, tag: string, entries: { digest: string; size: number; platform: Platform }[]): Promise<void> {
  const body = JSON.stringify({
    schemaVersion: 2,
    mediaType: LIST,
    manifests: entries.map((e) => ({ mediaType: MANIFEST, digest: e.digest, size: e.size, platform: e.platform })),
  });
  await ok(await fetch(`http://${registry}/v2/${name}/manifests/${tag}`, { method: 'PUT', body, headers: { 'Content-Type': LIST } }), 'writing the manifest list');
}
