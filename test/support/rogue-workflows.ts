// A workflow that is not the Deployer's, for the test of what the Deployer trusts: it has the
// type of a Deployer operation and returns whatever state it is given, as anyone who can
// reach Temporal could write with a worker of their own.
export async function deployWorkflow(state: unknown): Promise<{ state: unknown }> {
  return { state };
}
