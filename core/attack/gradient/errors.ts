import { TempestInputError } from '../../errors';

/**
 * The model's graph has an op on the path from the input to the logits that the gradient builder
 * cannot differentiate. It is an input error (retrying cannot help); black-box attacks still work.
 */
export class UnsupportedOpError extends TempestInputError {
  override readonly name: string = 'UnsupportedOpError';
  constructor(
    readonly opType: string,
    readonly nodeName: string,
    reason = 'no gradient rule for this op',
  ) {
    super(
      `cannot build an input gradient: op ${opType} (node '${nodeName}') on the path from the input to the logits: ` +
        `${reason}; use a black-box attack (square, simba, hopskipjump) for this model`,
      'UnsupportedOp',
    );
  }
}

/** The model is not a single-input classifier the gradient builder can work with. */
export class GradientModelError extends TempestInputError {
  override readonly name: string = 'GradientModelError';
  constructor(message: string) {
    super(`cannot build an input gradient: ${message}`, 'InvalidModel');
  }
}
