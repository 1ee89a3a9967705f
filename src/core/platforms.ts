// Platforms: what a node runs containers for and what an image is built for, in the OCI
// image spec's words (`os/architecture[/variant]`, image-spec "Platform"), so that a node is
// never handed an image it cannot run. Fog fleets mix x86 servers and ARM boards; engines
// report `uname -m` names (x86_64, aarch64), registries the OCI/Go names (amd64, arm64).
// Pure: tested by equality.
import { NodePlatformError } from './errors';
import type { NodeIntent } from './intent';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** `uname -m` and other spellings of one architecture, to the names the OCI spec uses. */
const ARCHITECTURES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  amd64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  arm64: { architecture: 'arm64' },
  armv7l: { architecture: 'arm', variant: 'v7' },
  armv6l: { architecture: 'arm', variant: 'v6' },
  armhf: { architecture: 'arm', variant: 'v7' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  ppc64le: { architecture: 'ppc64le' },
  s390x: { architecture: 's390x' },
  riscv64: { architecture: 'riscv64' },
};

export function normalizePlatform(p: { os?: string; architecture?: string; variant?: string }): Platform {
  const arch = ARCHITECTURES[(p.architecture ?? '').toLowerCase()] ?? { architecture: (p.architecture ?? 'unknown').toLowerCase() };
  const variant = p.variant ?? arch.variant;
  return { os: (p.os ?? 'unknown').toLowerCase(), architecture: arch.architecture, ...(variant ? { variant: variant.toLowerCase() } : {}) };
}

export function platformName(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

export function parsePlatform(name: string): Platform {
  const [os, architecture, variant] = name.split('/');
  return normalizePlatform({ os: os!, architecture: architecture!, ...(variant !== undefined ? { variant } : {}) });
}

/**
 * Whether an image built for `offered` runs on `node`: same os and architecture, and the
 * same variant when both say one (an image that names no variant runs on every variant).
 */
export function runsOn(node: Platform, offered: Platform): boolean {
  return node.os === offered.os && node.architecture === offered.architecture && (offered.variant === undefined || node.variant === undefined || offered.variant === node.variant);
}

/**
 * The image a node pulls: the request's one image, or from `images` the one for the node's
 * platform. Throws NodePlatformError, naming both, when none is for it.
 */
export function imageFor(intent: Pick<NodeIntent, 'image' | 'images'>, node: Platform, nodeId: string): string {
  if (intent.images === undefined) return intent.image;
  const match = Object.entries(intent.images).find(([name]) => runsOn(node, parsePlatform(name)));
  if (match === undefined) throw new NodePlatformError(nodeId, platformName(node), `the request names images for ${Object.keys(intent.images).join(', ')} only`);
  return match[1];
}

/** Undefined when the image runs on the node, else why not, naming both. */
export function platformProblem(image: string, node: Platform, offered: readonly Platform[]): string | undefined {
  if (offered.length === 0 || offered.some((o) => runsOn(node, o))) return undefined;
  return `image ${image} is built for ${offered.map(platformName).join(', ')} only`;
}
