import { gitPrefixProblem, gitSourceProblem, gitUrlProblem, withoutCredentials } from '../../src/core/git-source';

const prefixes = ['https://git.example.org/team/', 'ssh://git@git.example.org/team/'];
const credentials = 'must not carry credentials (a user or token before "@"): the build host\'s operator gives its git access to the repository instead (a credential helper or a deploy key)';
const writtenAs = (href: string) => `must be written as ${href}: the one way a URL parser, curl and git all read it`;
const notUnder = `is not under a prefix this Deployer may fetch (DEPLOYER_GIT_PREFIXES: ${prefixes.join(', ')}); ask its operator to add the repository's`;

describe('the form of a git source', () => {
  it.each([
    'https://git.example.org/team/app.git',
    'https://git.example.org/team/app.git#main',
    'https://git.example.org/team/app.git#v1.2:services/web',
    'http://git.example.org:8080/team/app.git',
    'git://git.example.org/team/app',
    'ssh://git@git.example.org/team/app.git',
    'git@git.example.org:team/app.git#main',
  ])('takes %s', (url) => {
    expect(gitUrlProblem(url)).toBeUndefined();
  });

  it.each([
    ['a user and password', 'https://deployer:hunter2@git.example.org/team/app.git', credentials],
    ['a token as the user', 'https://ghp_0123456789@git.example.org/team/app.git', credentials],
    ['a password over ssh', 'ssh://git:hunter2@git.example.org/team/app.git', credentials],
    ['an ssh user that is an option', 'ssh://-oProxyCommand=x@git.example.org/team/app.git', 'must name an ssh user of letters, digits, ".", "_" and "-"'],
    ['".." in its path', 'https://git.example.org/team/../other/app.git', writtenAs('https://git.example.org/other/app.git')],
    ['".." percent-encoded', 'https://git.example.org/team/%2e%2e/other/app.git', writtenAs('https://git.example.org/other/app.git')],
    ['an encoded "/"', 'https://git.example.org/team%2f..%2fother/app.git', 'must not hide ".", "/" or "\\" in percent-encoding'],
    ['a backslash before "@"', 'https://git.example.org\\@evil.example/app.git', writtenAs('https://git.example.org/@evil.example/app.git')],
    ['a default port', 'https://git.example.org:443/team/app.git', writtenAs('https://git.example.org/team/app.git')],
    ['an upper-case host', 'ssh://git@Git.Example.org/team/app.git', 'must name its host in lowercase'],
    ['a query', 'https://git.example.org/team/app.git?ref=main', 'must not have a query ("?")'],
    ['an http URL that is not a repository', 'http://169.254.169.254/latest/meta-data/', 'must end in ".git" (before any #ref): the build host\'s engine fetches any other http(s) URL as a download, not as a clone'],
    ['".." in an scp-like path', 'git@git.example.org:team/../other/app.git', 'must not have empty, "." or ".." segments in its path'],
    ['another user in the scp-like form', 'git@evil.example@git.example.org:team/app.git', 'must be written git@host:path with a lowercase host name and a path of letters, digits, ".", "_", "~", "-" and "/"'],
    ['another scheme', 'file:///etc/app.git', 'must use https, http, git or ssh'],
  ])('refuses %s', (_, url, problem) => {
    expect(gitUrlProblem(url)).toBe(problem);
  });

  it('never quotes a URL with credentials', () => {
    expect(gitUrlProblem('https://deployer:hunter2@git.example.org/team/../app.git')).not.toContain('hunter2');
  });
});

describe('the git prefixes', () => {
  it.each([
    ['https://git.example.org/team/app.git#main', undefined],
    ['git@git.example.org:team/app.git', undefined],
    ['https://git.example.org/teamwork/app.git', notUnder],
    ['https://git.example.org.evil.example/team/app.git', notUnder],
    ['https://git.example.org/team/../other.git', writtenAs('https://git.example.org/other.git')],
    ['git@git.example.org:other/app.git', notUnder],
    ['ssh://root@git.example.org/team/app.git', notUnder],
    ['https://169.254.169.254/latest/meta-data.git', notUnder],
  ])('judge %s', (url, problem) => {
    expect(gitSourceProblem(url, prefixes)).toBe(problem);
  });

  it('allow no git source when none is set, and say which setting would', () => {
    expect(gitSourceProblem('https://git.example.org/team/app.git', [])).toBe(
      'is not allowed: this Deployer fetches no git source (DEPLOYER_GIT_PREFIXES names no prefix); its operator sets the URL prefixes builds may fetch',
    );
  });

  it.each([
    ['https://git.example.org/team/', undefined],
    ['ssh://git@git.example.org/team/', undefined],
    ['https://git.example.org/team', 'must end with "/", so that it names a folder and not every name that starts alike: https://git.example.org/team/'],
    ['git@git.example.org:team/', 'must be a URL: write git@host:team/ as ssh://git@host/team/'],
    ['https://deployer:hunter2@git.example.org/team/', credentials],
    ['https://git.example.org/team/#main', 'must not have a #ref'],
    ['https://GIT.example.org/team/', writtenAs('https://git.example.org/team/')],
  ])('take the prefix %s only in the one form', (prefix, problem) => {
    expect(gitPrefixProblem(prefix)).toBe(problem);
  });
});

describe('a git URL as messages show it', () => {
  it.each([
    ['https://deployer:hunter2@git.example.org/team/app.git#main', 'https://git.example.org/team/app.git#main'],
    ['https://ghp_0123456789@git.example.org/team/app.git', 'https://git.example.org/team/app.git'],
    ['https://a:b@c@git.example.org/team/app.git', 'https://git.example.org/team/app.git'],
    ['ssh://git:hunter2@git.example.org/team/app.git', 'ssh://git.example.org/team/app.git'],
    ['ssh://git@git.example.org/team/app.git', 'ssh://git@git.example.org/team/app.git'],
    ['git@git.example.org:team/app.git', 'git@git.example.org:team/app.git'],
    ['https://git.example.org/team/app.git', 'https://git.example.org/team/app.git'],
    ['/srv/builds/app', '/srv/builds/app'],
  ])('shows %s as %s', (context, shown) => {
    expect(withoutCredentials(context)).toBe(shown);
  });
});
