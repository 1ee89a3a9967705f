// Labels the Deployer puts on what it creates on a node (containers, services, workloads):
// the targets themselves are the record of what runs where.
// Pure: imported by renderers that workflow code may use.

export const LABELS = {
  managed: 'io.deployer.managed',
  application: 'io.deployer.application',
  version: 'io.deployer.version',
  deployment: 'io.deployer.deployment',
  replica: 'io.deployer.replica',
  /** Names of the instances this one replaced on its node; what a restore starts again. */
  previous: 'io.deployer.previous',
  /**
   * The restart policy the request asked for. A stopped previous version runs with policy
   * "no" (so a restarting engine cannot bring it back beside the new one); a restore puts
   * this policy back.
   */
  restartPolicy: 'io.deployer.restart-policy',
  /** The host ports the instance listens on (`8080/tcp,53/udp`): what another application's deployment must not claim on the node. */
  ports: 'io.deployer.ports',
  /**
   * The apply that put an instance in place (the node workflow's run): an apply run again in
   * the same run finds its own work and leaves it as it is; a Retry, a new run, rolls out anew.
   */
  apply: 'io.deployer.apply',
  /** On a one-shot container (a configuration check, a test container): what it is for. */
  role: 'io.deployer.role',
} as const;
