import { deadLetterOf, REASON_CHARS, type Refusal } from '../../src/bridge/dead-letter';
import type { Issue } from '../../src/core/issues';
import { deadLetterSchema } from '../../src/core/schemas/dead-letter';

const MiB = 1024 * 1024;
const where = { topic: 'deployer.requests', partition: 2, offset: '41' };
const refusal = (value: Buffer | string, reason = 'the request is not valid JSON: Unexpected end of JSON input', issues: Issue[] = [{ path: [], message: reason }]): Refusal => ({
  ...where,
  value: Buffer.isBuffer(value) ? value : Buffer.from(value),
  reason,
  issues,
});
const size = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('the dead letter of a refused message', () => {
  it('carries the message whole when it fits, as text or, when it is not UTF-8, as base64', () => {
    expect(deadLetterOf(refusal('{"kind":'), MiB)).toEqual({ reason: 'the request is not valid JSON: Unexpected end of JSON input', issues: [{ path: [], message: 'the request is not valid JSON: Unexpected end of JSON input' }], ...where, original: '{"kind":', originalEncoding: 'utf8' });
    expect(deadLetterOf(refusal(Buffer.from([0x7b, 0xc3, 0x28]), 'the request is not valid UTF-8 text'), MiB)).toMatchObject({ original: 'e8Mo', originalEncoding: 'base64' });
  });

  it('carries the beginning of a message too long for it, the first issues that fit and the message\'s length: a bound, each character at its longest in JSON', () => {
    const issue = { path: ['container', 'env', 'A'], message: 'expected string' };
    expect(deadLetterOf(refusal('x'.repeat(1000), 'container.env.A: expected string (and 1 more problem)', [issue, issue]), 700)).toEqual({
      reason: 'container.env.A: expected str',
      issues: [issue, issue],
      ...where,
      original: 'x'.repeat(67),
      originalEncoding: 'utf8',
      originalBytes: 1000,
    });
  });

  it('fits the limit for a 1 MiB message of newlines, each written \\n, whose dead letter whole was 2 MiB, more than the broker takes', () => {
    const value = '\n'.repeat(MiB);
    expect(size(deadLetterOf(refusal(value), Number.MAX_SAFE_INTEGER))).toBeGreaterThan(2 * MiB);
    const letter = deadLetterOf(refusal(value), MiB);
    expect(size(letter)).toBeLessThanOrEqual(MiB);
    expect({ ...letter, original: letter.original === '\n'.repeat(letter.original.length) && letter.original.length > 100_000 }).toEqual({
      reason: 'the request is not valid JSON: Unexpected end of JSON input',
      issues: [{ path: [], message: 'the request is not valid JSON: Unexpected end of JSON input' }],
      ...where,
      original: true,
      originalEncoding: 'utf8',
      originalBytes: MiB,
    });
    expect(deadLetterSchema.parse(JSON.parse(JSON.stringify(letter)))).toEqual(letter);
  });

  it('fits the limit for control characters, six bytes each in JSON', () => {
    const letter = deadLetterOf(refusal('\u0001'.repeat(MiB)), MiB);
    expect(size(letter)).toBeLessThanOrEqual(MiB);
    expect(letter.original).toBe('\u0001'.repeat(letter.original.length));
    expect(letter.originalBytes).toBe(MiB);
  });

  it('keeps the first issues of a message with very many, in half of the room, and cuts a long reason to what a Rejected event carries', () => {
    const issues = Array.from({ length: 80_000 }, (_, i) => ({ path: ['container', 'env', `E${i}`], message: 'Invalid input: expected string, received number' }));
    const reason = `unknown fields ${Array.from({ length: 80_000 }, (_, i) => `"k${i}"`).join(', ')}: not part of the contract`;
    const letter = deadLetterOf(refusal(JSON.stringify({ env: Object.fromEntries(issues.map((_, i) => [`E${i}`, i])) }), reason, issues), MiB);
    expect(size(letter)).toBeLessThanOrEqual(MiB);
    expect(letter.reason).toBe(reason.slice(0, REASON_CHARS));
    expect(letter.issues).toEqual(issues.slice(0, letter.issues.length));
    expect(size(letter.issues)).toBeGreaterThan(MiB / 2 - 25_000);
    expect(size(letter.issues)).toBeLessThanOrEqual(MiB / 2);
  });

  it('cuts base64 at whole bytes, and text at whole characters', () => {
    const bytes = Buffer.alloc(MiB, 0xff);
    const binary = deadLetterOf(refusal(bytes, 'the request is not valid UTF-8 text'), 64 * 1024);
    expect(binary.originalEncoding).toBe('base64');
    expect(bytes.toString('base64').startsWith(binary.original)).toBe(true);
    expect(Buffer.from(binary.original, 'base64').length % 3).toBe(0);

    // Each emoji is two UTF-16 code units; an odd cut would leave half of one.
    for (const limit of [700, 701, 706, 707]) expect(deadLetterOf(refusal('😀'.repeat(1000)), limit).original).toMatch(/^(😀)*$/u);
  });
});
