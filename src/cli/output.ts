// Where a command's answer goes: text lines for people, or JSON for programs (one document,
// or one object per line for what is followed over time).
export interface Output {
  json: boolean;
  /** Text for people; nothing with --json. */
  text(lines: string | string[]): void;
  /** The answer with --json: one JSON document, or one line of a stream. */
  data(value: unknown): void;
  /** Either: `lines` for people, `value` as JSON. */
  answer(value: unknown, lines: string | string[]): void;
}

export function output(json: boolean, stream: NodeJS.WritableStream = process.stdout): Output {
  const text = (lines: string | string[]) => {
    if (!json) stream.write(`${([] as string[]).concat(lines).join('\n')}\n`);
  };
  const data = (value: unknown) => {
    if (json) stream.write(`${JSON.stringify(value)}\n`);
  };
  return { json, text, data, answer: (value, lines) => (json ? data(value) : text(lines)) };
}
