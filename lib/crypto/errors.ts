/** Base class of every error the crypto facade throws, so callers can catch them as one kind. */
export class CryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** The .wasm module could not be read or compiled. */
export class CryptoModuleLoadError extends CryptoError {}

/** A memory layout request is impossible (too big, bad counts) or a module disagrees with it. */
export class CryptoLayoutError extends CryptoError {}

/** A key, nonce, length, slot or pointer passed to the facade is out of range. */
export class CryptoInputError extends CryptoError {}
