// The Temporal SDK's log lines (worker, activities, workflows and the native core) written as
// the Deployer's own JSON lines, each naming the deployment it is about: the SDK knows only
// workflow ids, and a node's child workflow id is `<deploymentId>/<node>`.
import type { LogLevel, LogMetadata, Logger as SdkLogger } from '@temporalio/common';
import type { Logger } from '../log';
import { deploymentIdOf } from '../core/workflow-ids';

const LEVELS: Record<LogLevel, keyof Logger> = { TRACE: 'debug', DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error' };

/** The fields of an SDK log line as they go into a JSON line: errors as their stack, plus the deploymentId. */
export function sdkLogFields(meta: LogMetadata = {}): Record<string, unknown> {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(meta)) {
    fields[key] = value instanceof Error ? String(value.stack ?? value) : typeof value === 'bigint' ? String(value) : value;
  }
  const deploymentId = typeof meta.workflowId === 'string' ? deploymentIdOf(meta.workflowId) : undefined;
  if (deploymentId !== undefined) fields.deploymentId = deploymentId;
  return fields;
}

export function sdkLogger(log: Logger): SdkLogger {
  const at = (level: LogLevel) =>
    function sdkLog(message: string, meta?: LogMetadata) {
      log[LEVELS[level]](message, sdkLogFields(meta));
    };
  return {
    log: (level, message, meta) => at(level)(message, meta),
    trace: at('TRACE'),
    debug: at('DEBUG'),
    info: at('INFO'),
    warn: at('WARN'),
    error: at('ERROR'),
  };
}
