#!/usr/bin/env node
// The deployer CLI: sends requests the way the Scheduler does (through Kafka), and shows
// deployments from Temporal, their records, and the nodes. Every command and its exit codes
// are in USAGE (src/cli/args.ts) and README "Command line".
import type { Config } from '../config';
import { loadConfig } from '../config';
import { parseCommandLine, USAGE, type Command } from './args';
import { decideCommand } from './commands/decide';
import { deployCommand, validateCommand } from './commands/deploy';
import { eventsCommand } from './commands/events';
import { historyCommand } from './commands/history';
import { listCommand } from './commands/list';
import { decommissionCommand, publishNodesCommand } from './commands/fleet';
import { nodesCommand } from './commands/nodes';
import { cancelCommand, retryCommand, rollbackCommand, scaleCommand, undeployCommand } from './commands/requests';
import { statusCommand } from './commands/status';
import { EXIT, exitCodeOf, type ExitCode } from './errors';
import { output, type Output } from './output';

function run(cmd: Command, config: Config, out: Output): Promise<ExitCode> {
  switch (cmd.command) {
    case 'deploy':
      return deployCommand(cmd, config, out);
    case 'events':
      return eventsCommand(cmd, config, out);
    case 'status':
      return statusCommand(cmd, config, out);
    case 'list':
      return listCommand(cmd, config, out);
    case 'history':
      return historyCommand(cmd, config, out);
    case 'cancel':
      return cancelCommand(cmd, config, out);
    case 'retry':
      return retryCommand(cmd, config, out);
    case 'rollback':
      return rollbackCommand(cmd, config, out);
    case 'scale':
      return scaleCommand(cmd, config, out);
    case 'undeploy':
      return undeployCommand(cmd, config, out);
    case 'validate':
      return validateCommand(cmd, config, out);
    case 'decide':
      return decideCommand(cmd, config, out);
    case 'nodes':
      return nodesCommand(cmd, config, out);
    case 'publish-nodes':
      return publishNodesCommand(cmd, config, out);
    case 'decommission':
      return decommissionCommand(cmd, config, out);
  }
}

async function main(argv: string[]): Promise<ExitCode> {
  const cmd = parseCommandLine(argv);
  if (cmd === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.ok;
  }
  return run(cmd, loadConfig(), output(cmd.json));
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`deployer: ${err.message}\n`);
    process.exit(exitCodeOf(err));
  },
);
