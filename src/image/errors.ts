/**
 * Errors from the image layer. Each names the image, blob, entry or registry involved and says
 * what to do next; the CLI prints the message and exits with `exitStatus`.
 */
export class ImageError extends Error {
  constructor(
    message: string,
    readonly exitStatus: number = 1,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** An image reference that does not follow Docker's grammar. */
export class InvalidReferenceError extends ImageError {}

/** A blob whose bytes do not match its digest or size. */
export class DigestMismatchError extends ImageError {}

/** A layer tar that is malformed or tries to write outside its root. */
export class UnsafeLayerError extends ImageError {}

/** A manifest, index or config that is malformed or of an unsupported type. */
export class ManifestError extends ImageError {}

/** An image, tag or blob that is not in the store. */
export class NotFoundError extends ImageError {}

/** A registry request that failed: HTTP status, TLS, connection or authentication. */
export class RegistryError extends ImageError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A registry that rejected the credentials, or needs some and has none. */
export class AuthenticationError extends RegistryError {}

/** An image that cannot be removed because a container or another tag still uses it. */
export class ConflictError extends ImageError {}

/** A store directory that cannot be created or used, which is a failure of noah itself (125). */
export class StoreError extends ImageError {
  constructor(message: string) {
    super(message, 125);
  }
}
