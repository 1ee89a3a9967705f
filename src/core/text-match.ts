// Patterns a request author writes (`{ "matches": "…" }` in a test's expectations) run on
// RE2 (the re2js port: pure JavaScript, no native build), which matches in time linear in the
// text. JavaScript's own engine backtracks: `(a+)+$` over a long output holds the worker's
// thread, and every activity and heartbeat on it, for minutes.
import { RE2JS } from 're2js';

/** Why RE2 refuses `pattern`, or undefined when it compiles. */
export function regexProblem(pattern: string): string | undefined {
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Whether `pattern` matches somewhere in `text`. */
export function matchesPattern(text: string, pattern: string): boolean {
  return RE2JS.compile(pattern).matcher(text).find();
}
