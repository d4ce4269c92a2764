/**
 * An error caused by what the user gave (spec, model, data, module, key) rather than by the
 * machine: retrying cannot help, so activities report it as non-retryable and the CLI exits 2.
 */
export class TempestInputError extends Error {
  override readonly name: string = 'TempestInputError';
  constructor(
    message: string,
    /** A stable type name for Temporal's non-retryable failure and for callers that branch on it. */
    readonly kind: string = 'InvalidInput',
  ) {
    super(message);
  }
}

/** Bytes read back from the artifact store do not hash to their address: tampering or disk corruption. */
export class ArtifactCorruptedError extends Error {
  override readonly name = 'ArtifactCorruptedError';
  constructor(
    readonly sha256: string,
    readonly location: string,
    readonly actualSha256: string,
  ) {
    super(`artifact ${sha256} at ${location} is corrupted: its content hashes to ${actualSha256}`);
  }
}

export class ArtifactNotFoundError extends Error {
  override readonly name = 'ArtifactNotFoundError';
  constructor(
    readonly sha256: string,
    readonly location: string,
  ) {
    super(`artifact ${sha256} not found at ${location}`);
  }
}
