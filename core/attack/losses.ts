import type { AttackLoss } from './types';

/**
 * The attack losses computed from logits in plain TypeScript. They are the reference the ONNX
 * gradient graph is tested against, and what black-box attacks and APGD's step-size rule read.
 *
 * - ce:            -log softmax(z)_y                     (Goodfellow et al. 2015; Madry et al. 2018)
 * - dlr:           -(z_y - max_{i != y} z_i) / (z_pi1 - z_pi3 + 1e-12)
 * - ce-targeted:    log softmax(z)_t                     (= -CE towards the target t)
 * - dlr-targeted:  -(z_y - z_t) / (z_pi1 - (z_pi3 + z_pi4) / 2 + 1e-12)
 *
 * DLR and its targeted form follow Croce & Hein (2020), "Reliable evaluation of adversarial
 * robustness with an ensemble of diverse parameter-free attacks", eq. (6) and sec. 3.2; pi sorts
 * the logits in decreasing order. All four are written so that an attack always ascends them.
 * The DLR losses need at least 3 (untargeted) or 4 (targeted) classes.
 */
export const DLR_EPSILON = 1e-12;

export function lossFromLogits(
  logits: ArrayLike<number>,
  offset: number,
  classes: number,
  label: number,
  loss: AttackLoss,
  target = -1,
): number {
  const z = (index: number) => logits[offset + index];
  switch (loss) {
    case 'ce':
      return logSumExp(logits, offset, classes) - z(label);
    case 'ce-targeted':
      return z(requireTarget(target, classes)) - logSumExp(logits, offset, classes);
    case 'dlr': {
      requireClasses(classes, 3, loss);
      const sorted = sortedDescending(logits, offset, classes);
      let otherMax = -Infinity;
      for (let i = 0; i < classes; i++) if (i !== label && z(i) > otherMax) otherMax = z(i);
      return -(z(label) - otherMax) / (sorted[0] - sorted[2] + DLR_EPSILON);
    }
    case 'dlr-targeted': {
      requireClasses(classes, 4, loss);
      const sorted = sortedDescending(logits, offset, classes);
      const t = requireTarget(target, classes);
      return -(z(label) - z(t)) / (sorted[0] - (sorted[2] + sorted[3]) / 2 + DLR_EPSILON);
    }
  }
}

/** Loss per sample of an [N, classes] logit matrix. */
export function lossesFromLogits(
  logits: ArrayLike<number>,
  classes: number,
  labels: Int32Array,
  loss: AttackLoss,
  targets?: Int32Array,
): Float32Array {
  const result = new Float32Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    result[i] = lossFromLogits(logits, i * classes, classes, labels[i], loss, targets ? targets[i] : -1);
  }
  return result;
}

export function isTargeted(loss: AttackLoss): boolean {
  return loss === 'ce-targeted' || loss === 'dlr-targeted';
}

function logSumExp(values: ArrayLike<number>, offset: number, count: number): number {
  let max = -Infinity;
  for (let i = 0; i < count; i++) max = Math.max(max, values[offset + i]);
  let sum = 0;
  for (let i = 0; i < count; i++) sum += Math.exp(values[offset + i] - max);
  return max + Math.log(sum);
}

function sortedDescending(values: ArrayLike<number>, offset: number, count: number): number[] {
  const copy: number[] = [];
  for (let i = 0; i < count; i++) copy.push(values[offset + i]);
  return copy.sort((a, b) => b - a);
}

function requireTarget(target: number, classes: number): number {
  if (!Number.isInteger(target) || target < 0 || target >= classes) {
    throw new Error(`targeted attack loss needs a target class in [0, ${classes}), got ${target}`);
  }
  return target;
}

function requireClasses(classes: number, minimum: number, loss: AttackLoss): void {
  if (classes < minimum) {
    throw new Error(
      `the ${loss} loss needs at least ${minimum} classes; the model has ${classes} (use ce instead)`,
    );
  }
}
