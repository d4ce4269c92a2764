import { TempestInputError } from '../errors';
import { argmaxRows } from '../tensor/tensor';
import { checkScores, correctnessOf } from './classification';

/**
 * Subgroup accuracy: a mean accuracy can hide a group the model fails, and a perturbation can
 * hurt one group far more than the others. Worst-group accuracy is the criterion of
 * distributionally robust optimization (Sagawa et al. 2020, "Distributionally Robust Neural
 * Networks for Group Shifts"); the disparity (best minus worst group accuracy) is the accuracy
 * gap fairness audits report.
 */

/** Group membership: sample i belongs to group ids[i], named names[ids[i]]. */
export interface Groups {
  readonly ids: Int32Array;
  readonly names: readonly string[];
}

/**
 * When the dataset has no group column, each class is a group: worst-group accuracy is then the
 * worst per-class recall, which is what a perturbation that wipes out one class shows up as.
 */
export function groupsFromLabels(
  labels: Int32Array,
  classes: number,
  classNames?: readonly string[],
): Groups {
  if (classNames && classNames.length !== classes) {
    throw new TempestInputError(`${classNames.length} class names for ${classes} classes`, 'ShapeMismatch');
  }
  return {
    ids: labels,
    names: classNames ?? Array.from({ length: classes }, (_, c) => `class ${c}`),
  };
}

export interface GroupAccuracy {
  readonly id: number;
  readonly name: string;
  readonly count: number;
  readonly correct: number;
  /** null for a group with no samples in this set. */
  readonly accuracy: number | null;
}

export interface SubgroupReport {
  /** Every named group in id order, empty ones included (accuracy null). */
  readonly groups: readonly GroupAccuracy[];
  /** The non-empty group with the lowest accuracy (ties: lowest id); null without samples. */
  readonly worstGroup: GroupAccuracy | null;
  /** The non-empty group with the highest accuracy (ties: lowest id). */
  readonly bestGroup: GroupAccuracy | null;
  readonly worstGroupAccuracy: number | null;
  /** Best minus worst group accuracy over non-empty groups; 0 with a single group. */
  readonly disparity: number | null;
}

/** Per-group accuracy of argmax predictions; groups default to the classes (`groupsFromLabels`). */
export function subgroupAccuracy(
  scores: Float32Array,
  classes: number,
  labels: Int32Array,
  groups: Groups = groupsFromLabels(labels, classes),
): SubgroupReport {
  const rows = checkScores(scores, classes, labels);
  return subgroupAccuracyOf(correctnessOf(argmaxRows(scores, rows, classes), labels), groups);
}

/** Per-group accuracy from per-sample correctness (1 correct, 0 wrong). */
export function subgroupAccuracyOf(correct: Uint8Array, groups: Groups): SubgroupReport {
  const { ids, names } = groups;
  if (ids.length !== correct.length) {
    throw new TempestInputError(
      `${ids.length} group ids for ${correct.length} samples: the group column must have one id per sample`,
      'ShapeMismatch',
    );
  }
  const counts = new Float64Array(names.length);
  const corrects = new Float64Array(names.length);
  for (let index = 0; index < ids.length; index++) {
    const id = ids[index];
    if (id < 0 || id >= names.length) {
      throw new TempestInputError(
        `sample ${index} has group id ${id}, outside the ${names.length} named groups [0, ${names.length})`,
        'LabelOutOfRange',
      );
    }
    counts[id]++;
    corrects[id] += correct[index];
  }
  const report = names.map((name, id): GroupAccuracy => ({
    id,
    name,
    count: counts[id],
    correct: corrects[id],
    accuracy: counts[id] === 0 ? null : corrects[id] / counts[id],
  }));
  let worstGroup: GroupAccuracy | null = null;
  let bestGroup: GroupAccuracy | null = null;
  for (const group of report) {
    if (group.accuracy === null) continue;
    if (worstGroup === null || group.accuracy < worstGroup.accuracy!) worstGroup = group;
    if (bestGroup === null || group.accuracy > bestGroup.accuracy!) bestGroup = group;
  }
  return {
    groups: report,
    worstGroup,
    bestGroup,
    worstGroupAccuracy: worstGroup?.accuracy ?? null,
    disparity: worstGroup && bestGroup ? bestGroup.accuracy! - worstGroup.accuracy! : null,
  };
}

/** A value under the clean and the perturbed condition and its change (perturbed - clean). */
export interface Change {
  readonly clean: number | null;
  readonly perturbed: number | null;
  /** null when either side is. */
  readonly change: number | null;
}

export interface GroupShift extends Change {
  readonly id: number;
  readonly name: string;
  readonly count: number;
}

export interface SubgroupShift {
  readonly groups: readonly GroupShift[];
  readonly worstGroupAccuracy: Change;
  readonly disparity: Change;
  /** Which group is worst under each condition: a perturbation can move the weak spot. */
  readonly worstGroupClean: string | null;
  readonly worstGroupPerturbed: string | null;
}

const changeOf = (clean: number | null, perturbed: number | null): Change => ({
  clean,
  perturbed,
  change: clean === null || perturbed === null ? null : perturbed - clean,
});

/**
 * The fairness check under perturbation: how each group's accuracy, the worst-group accuracy and
 * the disparity move from the clean cell to a perturbed cell of the same model on the same samples.
 */
export function subgroupShift(clean: SubgroupReport, perturbed: SubgroupReport): SubgroupShift {
  const sameGroups =
    clean.groups.length === perturbed.groups.length &&
    clean.groups.every(
      (group, index) =>
        group.name === perturbed.groups[index].name && group.count === perturbed.groups[index].count,
    );
  if (!sameGroups) {
    throw new TempestInputError(
      'subgroup shift compares the same groups over the same samples, but the clean and perturbed reports differ ' +
        `in group names or sizes (clean: ${clean.groups.map((group) => `${group.name}=${group.count}`).join(', ')}; ` +
        `perturbed: ${perturbed.groups.map((group) => `${group.name}=${group.count}`).join(', ')})`,
      'ShapeMismatch',
    );
  }
  return {
    groups: clean.groups.map((group, index) => ({
      id: group.id,
      name: group.name,
      count: group.count,
      ...changeOf(group.accuracy, perturbed.groups[index].accuracy),
    })),
    worstGroupAccuracy: changeOf(clean.worstGroupAccuracy, perturbed.worstGroupAccuracy),
    disparity: changeOf(clean.disparity, perturbed.disparity),
    worstGroupClean: clean.worstGroup?.name ?? null,
    worstGroupPerturbed: perturbed.worstGroup?.name ?? null,
  };
}
