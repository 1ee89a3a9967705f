// Everything this test process writes to stdout and stderr (the worker's and the bridge's
// logs, when they run in it), kept for a test to search, and still written through.
export function captureOutput(): string[] {
  const lines: string[] = [];
  for (const stream of [process.stderr, process.stdout]) {
    const write = stream.write.bind(stream);
    jest.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  return lines;
}
