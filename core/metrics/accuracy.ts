import { argmaxRows } from '../tensor/tensor';

export interface AccuracyMetrics {
  readonly accuracy: number;
  readonly correct: number;
  readonly total: number;
}

/** Top-1 accuracy of [N, C] scores against integer labels (argmax ties go to the lowest class). */
export function accuracyOf(scores: Float32Array, classes: number, labels: Int32Array): AccuracyMetrics {
  const predictions = argmaxRows(scores, labels.length, classes);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct++;
  return { accuracy: labels.length === 0 ? 0 : correct / labels.length, correct, total: labels.length };
}
