import type { z } from 'zod';
import type { PhiloxStream } from '../rng/philox';
import type { Tensor } from '../tensor/tensor';

/** What an attack needs from the model: gradients, scores, or only the predicted label. */
export type AccessVector = 'white-box' | 'score-based' | 'decision-based';

export type AttackNorm = 'linf' | 'l2';

/**
 * Losses a white-box attack can differentiate. Untargeted losses grow as the true class loses;
 * targeted ones (`*-targeted`) are written so that growing them moves the sample towards the
 * target class, so every attack can always ascend.
 */
export type AttackLoss = 'ce' | 'dlr' | 'ce-targeted' | 'dlr-targeted';

export interface LossAndGradient {
  /** Loss per sample, [N]. */
  readonly loss: Float32Array;
  /** d(loss of sample i)/d(input of sample i), same layout as the batch. */
  readonly gradient: Float32Array;
  /** Logits of the same forward pass, [N, classes] (free with the gradient). */
  readonly logits: Float32Array;
}

/**
 * The model as an attack sees it. Every call is a query for each sample of the batch; the oracle
 * wrappers in core/attack/oracle.ts count them and enforce the budget, attacks never count.
 */
export interface ModelOracle {
  /** Shape of one sample (without the batch axis), e.g. [1, 28, 28]. */
  readonly sampleDims: readonly number[];
  readonly classes: number;
  /** Logits, [N, classes]. Score-based attacks use these; decision-based attacks only their argmax. */
  logits(batch: Tensor): Promise<Float32Array>;
  /**
   * The model's own output, [N, classes], in its declared kind, which is what a cell stores and
   * the run's evaluation reads. Absent: the same as logits(). An oracle over a probability model
   * gives log-probabilities from logits() (what the losses act on) and the probabilities here.
   */
  scores?(batch: Tensor): Promise<Float32Array>;
  /**
   * Loss and its input gradient computed by the ONNX gradient graph; absent for a model whose
   * graph cannot be differentiated (then only black-box attacks apply). `targets` is required for
   * the targeted losses.
   */
  lossAndGradient?(
    batch: Tensor,
    labels: Int32Array,
    loss: AttackLoss,
    targets?: Int32Array,
  ): Promise<LossAndGradient>;
}

export interface AttackContext {
  /** The random stream of dataset sample `firstSampleIndex + i` (random starts, proposals). */
  readonly streamFor: (sampleIndex: number) => PhiloxStream;
  readonly firstSampleIndex: number;
  /** Valid input range; every adversarial input is clipped to it. Images: [0, 1]. */
  readonly bounds: { readonly min: number; readonly max: number };
}

/** What an attack returns for one batch; everything per sample. */
export interface AttackBatchResult {
  /**
   * Adversarial inputs, same dims as the batch: the clean input where the attack gave up, except
   * that gradient attacks may return their highest-loss point (within eps, not fooling the model).
   */
  readonly adversarial: Tensor;
  /** Model queries used per sample (forward or forward+backward passes counted as one each). */
  readonly queries: Uint32Array;
  /**
   * 1 where the attack itself saw the model fooled (per the attack's own criterion); optional so
   * user attacks need not report it. Summaries recompute success from the model's predictions.
   */
  readonly success?: Uint8Array;
  /** Target class per sample, for attacks whose success is reaching a target. */
  readonly targets?: Int32Array;
}

/**
 * An attack: a versioned module like a perturbation, with an access vector and (for black-box
 * attacks) a per-sample query budget among its params. Output bytes are a function of (input
 * bytes, labels, params, model bytes, random streams) only; a change is a version bump.
 */
export interface AttackModule<Params extends Record<string, unknown> = Record<string, unknown>> {
  readonly name: string;
  readonly version: string;
  readonly description: string;
  /** The paper (and section) the algorithm follows. */
  readonly reference: string;
  readonly access: AccessVector;
  readonly params: z.ZodType<Params>;
  run(
    batch: Tensor,
    labels: Int32Array,
    params: Params,
    oracle: ModelOracle,
    context: AttackContext,
  ): Promise<AttackBatchResult>;
}
