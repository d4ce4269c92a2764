import { z } from 'zod';
import { batchStreams, finishAttack, oracleForBatch, rankedClass } from './batch';
import { gradientAscent, initialOutcome, runAscentAttack, type AscentSettings } from './gradient-ascent';
import { QueryBudgetParam, threatModelShape } from './params';
import type { AttackModule } from './types';

/**
 * Auto-PGD (Croce & Hein 2020, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", sec. 3, Algorithm 1): the `apgd` step rule of the shared
 * gradient-ascent mechanism with momentum 0.75 and rho = 0.75.
 *
 * - apgd-ce / apgd-dlr: untargeted, cross-entropy or the DLR loss (eq. 6).
 * - apgd-t: the targeted DLR loss (sec. 3.2) towards each of the top-k classes other than the
 *   prediction in turn (k = 9 in AutoAttack), each run only on samples not yet fooled; success
 *   is any misclassification, so APGD-T is an untargeted attack with targeted losses.
 */

const ApgdParams = z
  .object({
    ...threatModelShape(),
    steps: z.number().int().positive().max(10_000).default(100),
    restarts: z.number().int().positive().max(100).default(1),
    queryBudget: QueryBudgetParam.optional(),
  })
  .strict();
export type ApgdParams = z.infer<typeof ApgdParams>;

const APGD_STEP_RULE = { kind: 'apgd', momentum: 0.75, rho: 0.75 } as const;

function apgdSettings(params: ApgdParams, loss: AscentSettings['loss']): AscentSettings {
  return {
    norm: params.norm,
    epsilon: params.epsilon,
    steps: params.steps,
    restarts: params.restarts,
    randomStart: true,
    loss,
    stepRule: APGD_STEP_RULE,
  };
}

function untargetedApgd(name: string, loss: 'ce' | 'dlr', lossName: string): AttackModule<ApgdParams> {
  return {
    name,
    version: '1.0.0',
    description: `Auto-PGD on the ${lossName} loss (untargeted)`,
    reference: 'Croce & Hein 2020, Reliable evaluation of adversarial robustness..., Algorithm 1',
    access: 'white-box',
    params: ApgdParams,
    run: (batch, labels, params, oracle, context) =>
      runAscentAttack(batch, labels, oracle, context, apgdSettings(params, loss), params),
  };
}

export const apgdCe = untargetedApgd('apgd-ce', 'ce', 'cross-entropy');
export const apgdDlr = untargetedApgd('apgd-dlr', 'dlr', 'difference-of-logits-ratio');

const ApgdTargetedParams = ApgdParams.extend({
  /** Number of target classes tried, the top-k non-predicted classes (AutoAttack: 9). */
  targetClasses: z.number().int().positive().max(999).default(9),
  loss: z.enum(['dlr-targeted', 'ce-targeted']).default('dlr-targeted'),
}).strict();
export type ApgdTargetedParams = z.infer<typeof ApgdTargetedParams>;

export const apgdTargeted: AttackModule<ApgdTargetedParams> = {
  name: 'apgd-t',
  version: '1.0.0',
  description: 'Auto-PGD with the targeted DLR loss over the top-k target classes (untargeted success)',
  reference: 'Croce & Hein 2020, Reliable evaluation of adversarial robustness..., sec. 3.2',
  access: 'white-box',
  params: ApgdTargetedParams,
  async run(batch, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model, params.queryBudget);
    const count = batch.dims[0];
    const all = Array.from({ length: count }, (_, i) => i);
    const clean = await oracle.logits(batch, all);
    // Unsuccessful samples keep the point of highest targeted loss over all targets.
    const outcome = initialOutcome(batch);
    // A sample the model already gets wrong is fooled at its clean input.
    all.forEach((i) => {
      if (rankedClass(clean, i, oracle.classes, 1) !== labels[i]) outcome.success[i] = 1;
    });
    // One stream per sample across all targets, so every target run gets fresh random starts.
    const streams = batchStreams(context, count);
    const targetCount = Math.min(params.targetClasses, oracle.classes - 1);
    for (let rank = 2; rank <= targetCount + 1; rank++) {
      const targets = Int32Array.from(all, (i) => rankedClass(clean, i, oracle.classes, rank));
      await gradientAscent(
        batch,
        { labels, lossTargets: targets },
        oracle,
        context,
        apgdSettings(params, params.loss),
        outcome,
        streams,
      );
    }
    return finishAttack(batch, outcome.adversarial, outcome.success, oracle, { keepUnsuccessful: true });
  },
};
