import { z } from 'zod';
import { runAscentAttack } from './gradient-ascent';
import { LossParam, QueryBudgetParam, TargetParam, threatModelShape } from './params';
import type { AttackModule } from './types';

/**
 * FGSM and PGD: configurations of the projected gradient-ascent mechanism (gradient-ascent.ts).
 *
 * - PGD: Madry et al. 2018, "Towards deep learning models resistant to adversarial attacks",
 *   sec. 2 and appendix: random start in the eps-ball, `steps` steps of the norm's steepest
 *   ascent, projection after each; restarts keep, per sample, the first successful point.
 *   Default step size 2.5 * eps / steps, the paper's rule of thumb (enough to reach the boundary
 *   of the ball from any start).
 * - FGSM: Goodfellow et al. 2015, "Explaining and harnessing adversarial examples": exactly one
 *   PGD step of size eps from the clean input (for L2 the normalised-gradient "fast gradient"
 *   variant, as in Foolbox's L2FastGradientAttack).
 */

const PgdParams = z
  .object({
    ...threatModelShape(),
    steps: z.number().int().positive().max(10_000).default(40),
    restarts: z.number().int().positive().max(100).default(1),
    randomStart: z.boolean().default(true),
    /** Step size as a fraction of eps; default 2.5 / steps. */
    relativeStepSize: z.number().positive().optional(),
    stepSchedule: z.enum(['constant', 'cosine']).default('constant'),
    loss: LossParam.default('ce'),
    /** Target of a targeted loss (ignored otherwise). */
    target: TargetParam.optional(),
    queryBudget: QueryBudgetParam.optional(),
  })
  .strict();
export type PgdParams = z.infer<typeof PgdParams>;

export const pgd: AttackModule<PgdParams> = {
  name: 'pgd',
  version: '1.0.0',
  description: 'Projected gradient descent (Linf or L2) with random start, restarts and step schedule',
  reference: 'Madry et al. 2018, Towards deep learning models resistant to adversarial attacks, sec. 2',
  access: 'white-box',
  params: PgdParams,
  run(batch, labels, params, oracle, context) {
    const relative = params.relativeStepSize ?? 2.5 / params.steps;
    return runAscentAttack(
      batch,
      labels,
      oracle,
      context,
      {
        norm: params.norm,
        epsilon: params.epsilon,
        steps: params.steps,
        restarts: params.restarts,
        randomStart: params.randomStart,
        loss: params.loss,
        stepRule: { kind: 'fixed', stepSize: relative * params.epsilon, schedule: params.stepSchedule },
      },
      params,
    );
  },
};

const FgsmParams = z
  .object({
    ...threatModelShape(),
    loss: LossParam.default('ce'),
    target: TargetParam.optional(),
  })
  .strict();
export type FgsmParams = z.infer<typeof FgsmParams>;

export const fgsm: AttackModule<FgsmParams> = {
  name: 'fgsm',
  version: '1.0.0',
  description: 'Fast gradient (sign) method: one step of size eps, no random start',
  reference: 'Goodfellow et al. 2015, Explaining and harnessing adversarial examples, sec. 4',
  access: 'white-box',
  params: FgsmParams,
  run(batch, labels, params, oracle, context) {
    return pgd.run(
      batch,
      labels,
      { ...params, steps: 1, restarts: 1, randomStart: false, relativeStepSize: 1, stepSchedule: 'constant' },
      oracle,
      context,
    );
  },
};
