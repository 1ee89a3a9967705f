// Named errors of payload encryption. Each carries the key id it concerns, never key
// material or payload content.

abstract class PayloadEncryptionError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Thrown when the payload keys file is missing, readable by other users, or not valid. */
export class PayloadKeysError extends PayloadEncryptionError {
  constructor(readonly path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * Thrown when an encrypted payload names a key that the keys file does not hold: the key
 * was removed while histories still used it, or the payload comes from another installation.
 */
export class UnknownPayloadKeyError extends PayloadEncryptionError {
  constructor(readonly keyId: string) {
    super(`payload encrypted with unknown key '${keyId}'`);
  }
}

/**
 * Thrown when an encrypted payload fails authentication: it was altered or truncated, or
 * the key under its id is not the key it was encrypted with.
 */
export class PayloadAuthenticationError extends PayloadEncryptionError {
  constructor(readonly keyId: string, options?: { cause?: unknown }) {
    super(`payload encrypted with key '${keyId}' failed authentication`, options);
  }
}
