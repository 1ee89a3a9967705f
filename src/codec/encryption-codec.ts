// A PayloadCodec that encrypts every payload with AES-256-GCM before it leaves the process,
// so that the Temporal server stores, and its UI shows, only ciphertext. The whole payload
// is encrypted, its metadata (encoding, type) included; the envelope says only which key
// was used, so that after a rotation payloads written with older keys still decrypt.
// `data` is IV (12 bytes) | ciphertext | tag (16 bytes), as in NIST SP 800-38D and Temporal's
// own encryption samples. A payload not encrypted (histories older than encryption, recorded
// fixtures) passes through decode unchanged.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { PayloadAuthenticationError, UnknownPayloadKeyError } from './errors';
import type { PayloadKeys } from './payload-keys';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
// A random 96-bit IV per payload: GCM's recommended size; rotation keeps each key far below
// the 2^32 encryptions NIST allows per key with random IVs.
const IV_BYTES = 12;
const TAG_BYTES = 16;

const text = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

export class EncryptionCodec implements PayloadCodec {
  constructor(private readonly keys: PayloadKeys) {}

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.encrypt(p));
  }

  /** Throws UnknownPayloadKeyError or PayloadAuthenticationError for a payload it cannot decrypt. */
  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((p) => this.decrypt(p));
  }

  private encrypt(payload: Payload): Payload {
    const keyId = this.keys.current;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(CIPHER, this.keys.keys.get(keyId)!, iv);
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    return {
      metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(keyId) },
      data: Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]),
    };
  }

  private decrypt(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const keyId = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
    const key = this.keys.keys.get(keyId);
    if (key === undefined) throw new UnknownPayloadKeyError(keyId);
    const data = Buffer.from(payload.data ?? []);
    if (data.length < IV_BYTES + TAG_BYTES) throw new PayloadAuthenticationError(keyId);
    let plain: Buffer;
    try {
      const decipher = createDecipheriv(CIPHER, key, data.subarray(0, IV_BYTES));
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw new PayloadAuthenticationError(keyId, { cause: err });
    }
    const { Payload: PayloadMessage } = temporal.api.common.v1;
    return PayloadMessage.toObject(PayloadMessage.decode(plain)) as Payload;
  }
}
