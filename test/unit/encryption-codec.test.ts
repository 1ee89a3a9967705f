import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure, defaultFailureConverter, defaultPayloadConverter, type LoadedDataConverter, type Payload } from '@temporalio/common';
import { decodeOptionalFailureToOptionalError, encodeErrorToFailure, loadDataConverter } from '@temporalio/common/lib/internal-non-workflow';
import { dataConverter, decodePayload, ENCRYPTING_FAILURE_CONVERTER } from '../../src/codec/data-converter';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../src/codec/encryption-codec';
import { PayloadAuthenticationError, PayloadKeysError, UnknownPayloadKeyError } from '../../src/codec/errors';
import { loadPayloadKeys, parsePayloadKeys, type PayloadKeys } from '../../src/codec/payload-keys';
import { loadConfig } from '../../src/config';

const key = () => randomBytes(32);
const keys = (current: string, all: Record<string, Buffer>): PayloadKeys => ({ current, keys: new Map(Object.entries(all)) });
const text = (b: Uint8Array | null | undefined) => Buffer.from(b ?? []).toString('utf8');
// Payloads compared by content: bytes decoded by protobufjs are Buffers of another realm than jest's.
const plainly = (p: Payload | undefined) => ({ metadata: Object.fromEntries(Object.entries(p?.metadata ?? {}).map(([k, v]) => [k, text(v)])), data: text(p?.data) });
const request = { kind: 'Deploy', deploymentId: 'dep-1', application: { name: 'hello', version: '1' }, nodes: ['fog-1'] };

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'payload-keys-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function keysFile(name: string, content: string, mode = 0o600): string {
  const path = join(dir, name);
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

describe('the encryption codec', () => {
  const k1 = key();
  const k2 = key();

  it('round-trips a payload, metadata included, leaving neither its data nor its encoding in the clear', async () => {
    const codec = new EncryptionCodec(keys('k1', { k1 }));
    const plain = defaultPayloadConverter.toPayload(request)!;
    const [encrypted] = await codec.encode([plain]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA].sort());
    expect(text(encrypted!.data)).not.toContain('hello');
    expect(text(encrypted!.data)).not.toContain('json/plain');
    const [decrypted] = await codec.decode([encrypted!]);
    expect(plainly(decrypted)).toEqual(plainly(plain));
    expect(defaultPayloadConverter.fromPayload(decrypted!)).toEqual(request);
  });

  it('encrypts the same value differently every time', async () => {
    const codec = new EncryptionCodec(keys('k1', { k1 }));
    const plain = defaultPayloadConverter.toPayload(request)!;
    const [a, b] = await codec.encode([plain, plain]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('encrypts new payloads with the current key and still decrypts those written with an older key', async () => {
    const before = new EncryptionCodec(keys('k1', { k1 }));
    const [old] = await before.encode([defaultPayloadConverter.toPayload('written before the rotation')!]);
    const after = new EncryptionCodec(keys('k2', { k1, k2 }));
    const [fresh] = await after.encode([defaultPayloadConverter.toPayload('written after')!]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    const decoded = await after.decode([old!, fresh!]);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(['written before the rotation', 'written after']);
    // Only k2 decrypts what k2 encrypted: the rotation really changed the key.
    await expect(before.decode([fresh!])).rejects.toThrow(UnknownPayloadKeyError);
  });

  it('rejects a payload whose ciphertext was altered, with PayloadAuthenticationError naming the key', async () => {
    const codec = new EncryptionCodec(keys('k1', { k1 }));
    const [encrypted] = await codec.encode([defaultPayloadConverter.toPayload(request)!]);
    const data = Buffer.from(encrypted!.data!);
    data[20] ^= 0x01;
    const tampered: Payload = { ...encrypted, data };
    await expect(codec.decode([tampered])).rejects.toThrow(PayloadAuthenticationError);
    await expect(codec.decode([tampered])).rejects.toMatchObject({ name: 'PayloadAuthenticationError', keyId: 'k1' });
    await expect(codec.decode([{ ...encrypted, data: data.subarray(0, 10) }])).rejects.toThrow(PayloadAuthenticationError);
  });

  it('rejects a payload encrypted with a different key under the same id, with PayloadAuthenticationError', async () => {
    const [encrypted] = await new EncryptionCodec(keys('k1', { k1 })).encode([defaultPayloadConverter.toPayload(request)!]);
    await expect(new EncryptionCodec(keys('k1', { k1: k2 })).decode([encrypted!])).rejects.toThrow(PayloadAuthenticationError);
  });

  it('rejects a payload that names a key it does not hold, with UnknownPayloadKeyError naming the key', async () => {
    const [encrypted] = await new EncryptionCodec(keys('gone', { gone: k1 })).encode([defaultPayloadConverter.toPayload(request)!]);
    const codec = new EncryptionCodec(keys('k2', { k2 }));
    await expect(codec.decode([encrypted!])).rejects.toThrow(UnknownPayloadKeyError);
    await expect(codec.decode([encrypted!])).rejects.toMatchObject({ keyId: 'gone', message: "payload encrypted with unknown key 'gone'" });
  });

  it('passes a payload that is not encrypted through decode unchanged, so older histories stay readable', async () => {
    const codec = new EncryptionCodec(keys('k1', { k1 }));
    const plain = defaultPayloadConverter.toPayload(request)!;
    const nothing = defaultPayloadConverter.toPayload(undefined)!;
    expect(await codec.decode([plain, nothing])).toEqual([plain, nothing]);
  });
});

describe('the payload keys file', () => {
  const b64 = () => key().toString('base64');

  it('gives the current key id and every key', () => {
    const a = b64();
    const path = keysFile('good.json', JSON.stringify({ current: 'k2', keys: { k1: a, k2: b64() } }));
    const loaded = loadPayloadKeys(path);
    expect(loaded.current).toBe('k2');
    expect([...loaded.keys.keys()]).toEqual(['k1', 'k2']);
    expect(loaded.keys.get('k1')!.equals(Buffer.from(a, 'base64'))).toBe(true);
  });

  it('is rejected with a readable error when the current key is not among the keys', () => {
    expect(() => parsePayloadKeys(JSON.stringify({ current: 'k9', keys: { k1: b64() } }), 'keys.json')).toThrow(PayloadKeysError);
    expect(() => parsePayloadKeys(JSON.stringify({ current: 'k9', keys: { k1: b64() } }), 'keys.json')).toThrow(
      /payload keys file keys\.json is not valid:[\s\S]*must name one of "keys"[\s\S]*current/,
    );
  });

  it('is rejected, without quoting the key, when a key is not 32 bytes of base64', () => {
    const short = randomBytes(16).toString('base64');
    let error: Error | undefined;
    try {
      parsePayloadKeys(JSON.stringify({ current: 'k1', keys: { k1: short } }), 'keys.json');
    } catch (err) {
      error = err as Error;
    }
    expect(error).toBeInstanceOf(PayloadKeysError);
    expect(error!.message).toMatch(/must be 32 random bytes in base64[\s\S]*keys\.k1/);
    expect(error!.message).not.toContain(short);
  });

  it('is rejected, without quoting it, when it is not JSON', () => {
    const secret = b64();
    expect(() => parsePayloadKeys(`{ "current": "k1", "keys": { "k1": "${secret}" `, 'keys.json')).toThrow('payload keys file keys.json is not valid JSON');
  });

  it('is rejected when it holds fields the format does not describe', () => {
    expect(() => parsePayloadKeys(JSON.stringify({ current: 'k1', keys: { k1: b64() }, algorithm: 'none' }), 'keys.json')).toThrow(/algorithm/);
  });

  it('is refused when other users may read it', () => {
    const path = keysFile('open.json', JSON.stringify({ current: 'k1', keys: { k1: b64() } }), 0o644);
    expect(() => loadPayloadKeys(path)).toThrow(PayloadKeysError);
    expect(() => loadPayloadKeys(path)).toThrow(/mode 644\): chmod 600/);
  });

  it('says how to make it, or turn encryption off, when it is missing', () => {
    expect(() => loadPayloadKeys(join(dir, 'missing.json'))).toThrow(/missing\.json does not exist: scripts\/stack\.sh up makes one.*DEPLOYER_PAYLOAD_ENCRYPTION=off/);
  });
});

describe('the data converter of clients and workers', () => {
  it('reads the keys file in the state folder unless told otherwise, and has no codec when encryption is off', () => {
    expect(loadConfig({ DEPLOYER_STATE: '/var/lib/deployer' }).payloadEncryption).toEqual({ enabled: true, keysPath: '/var/lib/deployer/payload-keys.json' });
    expect(loadConfig({ DEPLOYER_PAYLOAD_KEYS_FILE: '/etc/deployer/keys.json' }).payloadEncryption.keysPath).toBe('/etc/deployer/keys.json');
    expect(dataConverter(loadConfig({ DEPLOYER_PAYLOAD_ENCRYPTION: 'off', DEPLOYER_STATE: join(dir, 'nowhere') }))).toEqual({});
    expect(() => loadConfig({ DEPLOYER_PAYLOAD_ENCRYPTION: 'maybe' })).toThrow(/DEPLOYER_PAYLOAD_ENCRYPTION/);
  });

  it('refuses to make a converter when encryption is on and the keys file is missing', () => {
    expect(() => dataConverter(loadConfig({ DEPLOYER_STATE: join(dir, 'nowhere') }))).toThrow(PayloadKeysError);
  });

  it('decodes a payload read from history through the codec, which the payload converter alone cannot', async () => {
    const path = keysFile('converter.json', JSON.stringify({ current: 'k1', keys: { k1: key().toString('base64') } }));
    const { payloadCodecs = [] } = dataConverter(loadConfig({ DEPLOYER_PAYLOAD_KEYS_FILE: path }));
    const loaded: LoadedDataConverter = { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs };
    const [encrypted] = await loaded.payloadCodecs[0]!.encode([loaded.payloadConverter.toPayload(request)!]);
    expect(() => loaded.payloadConverter.fromPayload(encrypted!)).toThrow();
    expect(await decodePayload(loaded, encrypted!)).toEqual(request);
  });

  it('puts failure messages and stack traces through the codec when encryption is on, causes included', async () => {
    const path = keysFile('failures.json', JSON.stringify({ current: 'k1', keys: { k1: key().toString('base64') } }));
    const converter = dataConverter(loadConfig({ DEPLOYER_PAYLOAD_KEYS_FILE: path }));
    expect(converter.failureConverterPath).toBe(ENCRYPTING_FAILURE_CONVERTER);
    const loaded = loadDataConverter(converter);
    const cause = new Error('engine said: no space left for marker-cause');
    const error = ApplicationFailure.create({ type: 'BuildError', message: 'build failed: marker-message', details: [{ steps: 2 }], nonRetryable: true, cause });
    const failure = await encodeErrorToFailure(loaded, error);
    const stored = JSON.stringify(failure, (_, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
    expect({ message: failure.message, cause: failure.cause?.message, stack: failure.stackTrace }).toEqual({ message: 'Encoded failure', cause: 'Encoded failure', stack: '' });
    expect(text(failure.encodedAttributes?.metadata?.encoding)).toBe(ENCRYPTED_ENCODING);
    for (const marker of ['marker-message', 'marker-cause', 'encryption-codec.test']) expect(stored).not.toContain(marker);
    // A client with the SDK's own failure converter reads it too, once its codec decrypts.
    const reader: LoadedDataConverter = { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs: loaded.payloadCodecs };
    const read = await decodeOptionalFailureToOptionalError(reader, failure);
    expect(read).toBeInstanceOf(ApplicationFailure);
    expect({ message: read!.message, type: (read as ApplicationFailure).type, details: (read as ApplicationFailure).details, cause: read!.cause instanceof Error ? read!.cause.message : undefined }).toEqual({
      message: 'build failed: marker-message',
      type: 'BuildError',
      details: [{ steps: 2 }],
      cause: 'engine said: no space left for marker-cause',
    });
    expect(read!.stack).toContain('encryption-codec.test');
  });

  it('reads a failure written before failure messages were encrypted as it is', async () => {
    const path = keysFile('old-failures.json', JSON.stringify({ current: 'k1', keys: { k1: key().toString('base64') } }));
    const loaded = loadDataConverter(dataConverter(loadConfig({ DEPLOYER_PAYLOAD_KEYS_FILE: path })));
    const plain = defaultFailureConverter.errorToFailure(ApplicationFailure.create({ type: 'BuildError', message: 'written in plain text' }), defaultPayloadConverter);
    expect(plain.encodedAttributes).toBeUndefined();
    expect((await decodeOptionalFailureToOptionalError(loaded, plain))?.message).toBe('written in plain text');
  });

  it('keeps the codec token out of logs', () => {
    const { codecServer } = loadConfig({ DEPLOYER_CODEC_TOKEN: 'a-token-of-enough-length' });
    expect(JSON.stringify(codecServer)).not.toContain('a-token-of-enough-length');
    expect(`${codecServer.token}`).toBe('[redacted]');
    expect(codecServer.token!.reveal()).toBe('a-token-of-enough-length');
    expect(() => loadConfig({ DEPLOYER_CODEC_TOKEN: 'short' })).toThrow(/DEPLOYER_CODEC_TOKEN/);
  });
});
