/**
 * Loss-threshold membership inference (Yeom, Giacomelli, Fredrikson & Jha 2018, "Privacy risk in
 * machine learning: analyzing the connection to overfitting", CSF, sec. 3.2): guess "member" when
 * a sample's loss is at most tau. Over all thresholds this gives:
 *
 * - AUC = P(loss of a held-out sample > loss of a training sample) + 1/2 P(equal), the
 *   Mann-Whitney U statistic divided by m * n (Hanley & McNeil 1982), ties counting one half;
 * - advantage = max over tau of TPR(tau) - FPR(tau) with TPR = P(train loss <= tau) and
 *   FPR = P(held-out loss <= tau) (Yeom et al.'s membership advantage, Definition 4; the max over
 *   thresholds is the best attacker of this family). tau = -Infinity gives 0, so it is >= 0.
 */

export interface MembershipInference {
  readonly auc: number;
  readonly advantage: number;
  /** A threshold reaching the best advantage (-Infinity when none beats guessing). */
  readonly threshold: number;
}

export function lossThresholdAttack(
  trainLosses: ArrayLike<number>,
  heldOutLosses: ArrayLike<number>,
): MembershipInference {
  const m = trainLosses.length;
  const n = heldOutLosses.length;
  if (m === 0 || n === 0) throw new Error('membership inference needs training and held-out losses');
  const all = [
    ...Array.from(trainLosses, (loss) => ({ loss, member: true })),
    ...Array.from(heldOutLosses, (loss) => ({ loss, member: false })),
  ];
  if (all.some((entry) => Number.isNaN(entry.loss))) throw new Error('membership inference: NaN loss');
  all.sort((a, b) => a.loss - b.loss);

  let membersBelow = 0;
  let othersBelow = 0;
  let pairsWon = 0;
  let advantage = 0;
  let threshold = -Infinity;
  for (let start = 0; start < all.length;) {
    let end = start;
    let tiedMembers = 0;
    let tiedOthers = 0;
    while (end < all.length && all[end].loss === all[start].loss) {
      if (all[end].member) tiedMembers++;
      else tiedOthers++;
      end++;
    }
    // A member wins against every held-out sample with a strictly larger loss and half-wins ties.
    pairsWon += tiedMembers * (n - othersBelow - tiedOthers) + 0.5 * tiedMembers * tiedOthers;
    membersBelow += tiedMembers;
    othersBelow += tiedOthers;
    const gap = membersBelow / m - othersBelow / n;
    if (gap > advantage) {
      advantage = gap;
      threshold = all[start].loss;
    }
    start = end;
  }
  return { auc: pairsWon / (m * n), advantage, threshold };
}
