// The dead letter of a refused message (scheduler-kafka-v1, "Dead letters"): why, where the
// message was, and the message itself, so that its sender can tell which one it was. Never
// larger than the largest request the bridge takes (DEPLOYER_MAX_REQUEST_BYTES), which the
// dead-letter topic must take as the requests topic does. A message within that limit can
// grow severalfold in its dead letter (a newline is written "\n" in JSON, a control character
// "\u0001", and every unknown field or wrong value becomes an issue), and the bridge commits
// a message only once its dead letter is published: one the broker refused stopped its
// partition for good (tried: a 1 MiB message of newlines). So a dead letter that would be
// larger is cut, saying so. Pure.
import type { Issue } from '../core/issues';
import type { DeadLetter } from '../core/schemas/dead-letter';
import { statusEventSchema } from '../core/schemas/event';

/** Where a refused message was, what it held, and why it was refused. */
export interface Refusal {
  topic: string;
  partition: number;
  offset: string;
  value: Buffer;
  reason: string;
  issues: Issue[];
}

/** A reason as long as a Rejected event's message may be: what a cut dead letter keeps of it. */
export const REASON_CHARS = statusEventSchema.shape.message.maxLength!;

/** The most bytes one UTF-16 code unit takes in JSON: `\u0001`. */
const JSON_BYTES_PER_UNIT = 6;

const utf8 = new TextDecoder('utf-8', { fatal: true });
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

/** The first `units` UTF-16 code units of `text`, without half of a character at the end. */
function headOf(text: string, units: number): string {
  const head = text.slice(0, Math.max(0, units));
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head;
}

/**
 * The dead letter of `refusal`, at most `maxBytes` as JSON. Whole when it fits; else the
 * reason's first characters (at most a Rejected event's, and a quarter of the room), the
 * first issues that fit in half the room, and as much of the beginning of the original as
 * fits in the rest, with `originalBytes`, the original's length.
 */
export function deadLetterOf(refusal: Refusal, maxBytes: number): DeadLetter {
  const { topic, partition, offset, value, reason, issues } = refusal;
  let text: string | undefined;
  try {
    text = utf8.decode(value);
  } catch {
    text = undefined;
  }
  const where = { topic, partition, offset };
  const whole: DeadLetter = { reason, issues, ...where, original: text ?? value.toString('base64'), originalEncoding: text !== undefined ? 'utf8' : 'base64' };
  if (size(whole) <= maxBytes) return whole;

  const cut: DeadLetter = { ...whole, reason: headOf(reason, Math.min(REASON_CHARS, Math.floor(maxBytes / 4 / JSON_BYTES_PER_UNIT))), issues: [], original: '', originalBytes: value.length };
  let room = maxBytes - size(cut);
  let issuesBytes = 0;
  for (const issue of issues) {
    const bytes = size(issue) + 1;
    if (issuesBytes + bytes > room / 2) break;
    cut.issues.push(issue);
    issuesBytes += bytes;
  }
  room -= issuesBytes;
  // Bounds rather than measures: each code unit at its longest in JSON, three bytes in four base64 characters.
  cut.original = text !== undefined ? headOf(text, Math.floor(room / JSON_BYTES_PER_UNIT)) : value.subarray(0, Math.max(0, Math.floor(room / 4) * 3)).toString('base64');
  return cut;
}
