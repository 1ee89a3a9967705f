// What a one-shot run or an exec printed, as the targets collect it: stdout and stderr as
// they came, bounded. The end is what is kept past the bound: it is where a failing program
// says why. Never logged here; the caller judges it and redacts it.
import { Writable } from 'node:stream';

/** Output kept per run. */
export const MAX_OUTPUT = 64 * 1024;

export class OutputCollector {
  private text = '';

  add(chunk: Buffer | string): void {
    this.text += chunk.toString();
    if (this.text.length > MAX_OUTPUT) this.text = this.text.slice(this.text.length - MAX_OUTPUT);
  }

  get output(): string {
    return this.text;
  }

  /** A stream that adds what is written to it. */
  sink(): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.add(chunk);
        done();
      },
    });
  }
}
