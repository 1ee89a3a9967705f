// Git sources: the one form of a git URL the Deployer takes, which URLs a build may fetch
// (the configured prefixes), and how a URL is shown. The build host's engine fetches the URL
// itself, so without prefixes a request could make it fetch anything it reaches, link-local
// metadata addresses included. A URL is compared in the one form that a URL parser (WHATWG
// URL), curl and git read alike: a URL written any other way ("..", "\", a default port,
// percent-encoded separators) is refused rather than rewritten, because where two parsers
// disagree, the check and the fetch could name different places.
// Pure: the bridge, the worker and (for `withoutCredentials`) workflow code use it.

/** Whether a build context names a git repository rather than a directory of the build host. */
export const isGitSource = (context: string): boolean => !context.startsWith('/');

const SCHEMES = ['https:', 'http:', 'git:', 'ssh:'];

/** `git@host:path`, the scp-like form of an ssh URL that git and the Docker Engine take. */
const SCP_LIKE = /^git@([a-z0-9.-]+):([A-Za-z0-9._~/-]+)$/;

type Read = { url: URL } | { problem: string };

/** `url` (without its #ref) as one URL, or why it is not written the one way it can be read. */
function read(url: string): Read {
  const scp = SCP_LIKE.exec(url);
  if (scp !== null) {
    const path = scp[2]!;
    if (path.split('/').some((seg) => seg === '' || seg === '.' || seg === '..')) return { problem: 'must not have empty, "." or ".." segments in its path' };
    return { url: new URL(`ssh://git@${scp[1]}/${path}`) };
  }
  if (url.startsWith('git@')) return { problem: 'must be written git@host:path with a lowercase host name and a path of letters, digits, ".", "_", "~", "-" and "/"' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { problem: 'is not a URL: write it as https://host/path.git, git://host/path, ssh://git@host/path or git@host:path' };
  }
  if (!SCHEMES.includes(parsed.protocol)) return { problem: 'must use https, http, git or ssh' };
  // A token goes where a user name goes (https://TOKEN@host/…); over ssh the user is only a login, and the key authenticates.
  if (parsed.password !== '' || (parsed.username !== '' && parsed.protocol !== 'ssh:')) {
    return { problem: "must not carry credentials (a user or token before \"@\"): the build host's operator gives its git access to the repository instead (a credential helper or a deploy key)" };
  }
  if (parsed.username !== '' && !/^[a-z0-9_][a-z0-9._-]*$/i.test(parsed.username)) return { problem: 'must name an ssh user of letters, digits, ".", "_" and "-"' };
  if (parsed.search !== '') return { problem: 'must not have a query ("?")' };
  if (/%(2e|2f|5c)/i.test(parsed.pathname)) return { problem: 'must not hide ".", "/" or "\\" in percent-encoding' };
  if (parsed.hostname !== parsed.hostname.toLowerCase()) return { problem: 'must name its host in lowercase' };
  if (parsed.href !== url) return { problem: `must be written as ${parsed.href}: the one way a URL parser, curl and git all read it` };
  return { url: parsed };
}

/** What is wrong with the form of a git source (`url#ref`), whatever the configuration: undefined when nothing. */
export function gitUrlProblem(context: string): string | undefined {
  const hash = context.indexOf('#');
  const r = read(hash === -1 ? context : context.slice(0, hash));
  if ('problem' in r) return r.problem;
  // The engine clones an http(s) URL only when it ends in .git; any other it downloads as a plain context.
  if ((r.url.protocol === 'https:' || r.url.protocol === 'http:') && !r.url.pathname.endsWith('.git')) {
    return 'must end in ".git" (before any #ref): the build host\'s engine fetches any other http(s) URL as a download, not as a clone';
  }
  return undefined;
}

/** What is wrong with a configured prefix (DEPLOYER_GIT_PREFIXES): undefined when nothing. */
export function gitPrefixProblem(prefix: string): string | undefined {
  if (prefix.startsWith('git@')) return 'must be a URL: write git@host:team/ as ssh://git@host/team/';
  const r = read(prefix);
  if ('problem' in r) return r.problem;
  if (r.url.hash !== '') return 'must not have a #ref';
  if (!r.url.pathname.endsWith('/')) return `must end with "/", so that it names a folder and not every name that starts alike: ${r.url.href}/`;
  return undefined;
}

/**
 * Why a build may not fetch `context` with these prefixes, or undefined when it may: its form
 * first, then whether its URL starts with one of the prefixes (both in the one form, each
 * prefix ending with "/", so a match is a whole folder). `git@host:team/app` is compared as
 * `ssh://git@host/team/app`.
 */
export function gitSourceProblem(context: string, prefixes: readonly string[]): string | undefined {
  const form = gitUrlProblem(context);
  if (form !== undefined) return form;
  const hash = context.indexOf('#');
  const { href } = (read(hash === -1 ? context : context.slice(0, hash)) as { url: URL }).url;
  if (prefixes.some((p) => href.startsWith(p))) return undefined;
  return prefixes.length === 0
    ? 'is not allowed: this Deployer fetches no git source (DEPLOYER_GIT_PREFIXES names no prefix); its operator sets the URL prefixes builds may fetch'
    : `is not under a prefix this Deployer may fetch (DEPLOYER_GIT_PREFIXES: ${prefixes.join(', ')}); ask its operator to add the repository's`;
}

/**
 * A build context as messages show it: a git URL without credentials (the password, and for
 * every scheme but ssh the user too, where a token goes). A request with them is refused; this
 * keeps them out of what is shown of one that got past the bridge (a workflow started directly).
 */
export function withoutCredentials(context: string): string {
  return context.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_, scheme: string, userinfo: string) =>
    scheme.toLowerCase() === 'ssh://' && !userinfo.includes(':') ? `${scheme}${userinfo}@` : scheme,
  );
}
