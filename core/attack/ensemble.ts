import { z } from 'zod';
import { makeTensor, sampleSize, type Tensor } from '../tensor/tensor';
import { isAdversarial, oracleForBatch, sampleView } from './batch';
import { apgdCe, apgdTargeted } from './apgd';
import { threatModelShape } from './params';
import { square } from './square';
import type { AttackBatchResult, AttackContext, AttackModule, ModelOracle } from './types';

/**
 * The AutoAttack "standard" ensemble (Croce & Hein 2020, "Reliable evaluation of adversarial
 * robustness with an ensemble of diverse parameter-free attacks", sec. 5): APGD-CE, APGD-T
 * (targeted DLR, 9 targets), FAB-T, Square (5000 queries), run in sequence, each only on the
 * samples still robust; a sample counts as broken by the first attack that fools it (the worst
 * case per sample). Samples the model already gets wrong are not attacked (robust accuracy
 * counts them as failures).
 *
 * Substitution: FAB-T (Croce & Hein 2020b, minimal-norm targeted attack) is not implemented; its
 * slot runs APGD with the targeted cross-entropy loss over the same top-9 targets. It keeps what
 * FAB-T adds to the ensemble in the robust-accuracy sense (a targeted attack with a loss surface
 * different from DLR-T), not FAB's minimal-norm search. Every member draws from the sample's one
 * stream from its start, so members share their random starts.
 */

const AutoAttackParams = z
  .object({
    ...threatModelShape(),
    steps: z.number().int().positive().max(10_000).default(100),
    targetClasses: z.number().int().positive().default(9),
    squareQueries: z.number().int().positive().default(5000),
  })
  .strict();
export type AutoAttackParams = z.infer<typeof AutoAttackParams>;

interface Member {
  readonly name: string;
  run(
    batch: Tensor,
    labels: Int32Array,
    oracle: ModelOracle,
    context: AttackContext,
  ): Promise<AttackBatchResult>;
}

function members(params: AutoAttackParams): Member[] {
  const { norm, epsilon, steps, targetClasses } = params;
  return [
    {
      name: 'apgd-ce',
      run: (b, l, o, c) => apgdCe.run(b, l, { norm, epsilon, steps, restarts: 1 }, o, c),
    },
    {
      name: 'apgd-t',
      run: (b, l, o, c) =>
        apgdTargeted.run(
          b,
          l,
          { norm, epsilon, steps, restarts: 1, targetClasses, loss: 'dlr-targeted' },
          o,
          c,
        ),
    },
    {
      name: 'apgd-t-ce (FAB-T substitute)',
      run: (b, l, o, c) =>
        apgdTargeted.run(
          b,
          l,
          { norm, epsilon, steps, restarts: 1, targetClasses, loss: 'ce-targeted' },
          o,
          c,
        ),
    },
    {
      name: 'square',
      run: (b, l, o, c) =>
        square.run(b, l, { norm, epsilon, queryBudget: params.squareQueries, pInit: 0.8 }, o, c),
    },
  ];
}

/** Samples `indices` of a batch as a new batch, and the context that keeps their own streams. */
function subBatch(batch: Tensor, indices: readonly number[], context: AttackContext) {
  const size = sampleSize(batch);
  const sub = makeTensor([indices.length, ...batch.dims.slice(1)]);
  indices.forEach((index, k) => sub.data.set(sampleView(batch.data, size, index), k * size));
  const subContext: AttackContext = {
    bounds: context.bounds,
    firstSampleIndex: 0,
    streamFor: (k) => context.streamFor(context.firstSampleIndex + indices[k]),
  };
  return { sub, subContext };
}

export const autoAttack: AttackModule<AutoAttackParams> = {
  name: 'autoattack-standard',
  version: '1.0.0',
  description:
    'AutoAttack standard: APGD-CE, APGD-T, targeted-CE APGD (for FAB-T), Square; worst case per sample',
  reference:
    'Croce & Hein 2020, Reliable evaluation of adversarial robustness..., sec. 5 (FAB-T substituted)',
  access: 'white-box',
  params: AutoAttackParams,
  async run(batch, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model);
    const count = batch.dims[0];
    const size = sampleSize(batch);
    const all = Array.from({ length: count }, (_, i) => i);
    const cleanLogits = await oracle.logits(batch, all);
    const queries = oracle.queries.slice();
    const adversarial = makeTensor(batch.dims, batch.data.slice());
    const success = new Uint8Array(count);
    let robust = all.filter((i) => !isAdversarial(cleanLogits, i, oracle.classes, labels[i]));
    for (const member of members(params)) {
      if (robust.length === 0) break;
      const { sub, subContext } = subBatch(batch, robust, context);
      const result = await member.run(
        sub,
        Int32Array.from(robust, (i) => labels[i]),
        model,
        subContext,
      );
      robust.forEach((index, k) => {
        queries[index] += result.queries[k];
        if (result.success?.[k]) {
          success[index] = 1;
          adversarial.data.set(sampleView(result.adversarial.data, size, k), index * size);
        }
      });
      robust = robust.filter((index) => !success[index]);
    }
    return { adversarial, queries, success };
  },
};
