// `deployer history`: the deployment records, kept on the compacted records topic past
// Temporal's retention (README "Deployment records").
import type { Config } from '../../config';
import type { CommandOf } from '../args';
import { EXIT, type ExitCode } from '../errors';
import { recordMatches } from '../../operations/filters';
import { renderRecords } from '../format';
import type { Output } from '../output';
import { cliKafka, onKafka } from '../platform';
import { readRecords } from '../../operations/records';

export async function historyCommand(cmd: CommandOf<'history'>, config: Config, out: Output): Promise<ExitCode> {
  const { records, invalid } = await onKafka(config, () => readRecords(cliKafka(config), config.kafka.topics.records, recordMatches(cmd)));
  if (invalid > 0) process.stderr.write(`deployer: skipped ${invalid} value(s) on ${config.kafka.topics.records} that are not deployment records\n`);
  const shown = records.slice(0, cmd.limit);
  out.answer(shown, renderRecords(shown));
  return EXIT.ok;
}
