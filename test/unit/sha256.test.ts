// The pure SHA-256 the renderers name things with, against Node's own, at the lengths where
// padding changes (55, 56 and 64 bytes), past one block, and over multi-byte UTF-8.
import { createHash } from 'node:crypto';
import { sha256 } from '../../src/core/sha256';

describe('sha256', () => {
  it("gives FIPS 180-4's digest of 'abc'", () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it.each([['empty', ''], ['55 bytes', 'a'.repeat(55)], ['56 bytes', 'a'.repeat(56)], ['64 bytes', 'a'.repeat(64)], ['1000 bytes', 'x'.repeat(1000)], ['UTF-8', 'héllo ☃ 😀'], ['a name', '["web","d-1","/etc/web.conf"]']])(
    'agrees with node:crypto on %s',
    (_, text) => {
      expect(sha256(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    },
  );
});
