// Whether an instance stayed running through its verification: a container that crashed and
// was restarted (restart policy) or exited is not healthy, even when its probe passed in
// between, or when something else answered on its port. Pure: tested by equality.

export interface RunState {
  running: boolean;
  /** When the instance last started, as the target reports it. */
  startedAt: string;
  restartCount: number;
  status?: string;
  exitCode?: number;
}

/** Undefined while `now` is the same run as `first`, still running; else what happened, in words. */
export function runChange(first: RunState, now: RunState): string | undefined {
  if (now.restartCount > first.restartCount || now.startedAt !== first.startedAt) {
    return `restarted during verification (${now.restartCount - first.restartCount || 1} time(s); it had exited${now.exitCode !== undefined ? ` with ${now.exitCode}` : ''})`;
  }
  if (!now.running) return `stopped during verification: ${now.status ?? 'not running'}${now.exitCode !== undefined ? ` (exit code ${now.exitCode})` : ''}`;
  return undefined;
}
