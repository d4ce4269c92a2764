import { lossesFromLogits } from '../../core/attack/losses';
import { lossThresholdAttack } from '../../core/attack/membership';
import { loadMnist } from '../../core/data/mnist';
import { ModelRunner } from '../../core/model/runner';
import { adaptModelFile, readModelFile } from '../model-file';
import { table } from '../../core/report/markdown';

/**
 * The privacy check: a loss-threshold membership-inference attack (Yeom et al. 2018) on samples
 * the model was trained on against held-out samples. AUC near 0.5 and a small advantage mean the
 * model's loss gives little away about which samples it saw.
 */
export async function privacyCommand(model: string, options: { samples: number }): Promise<number> {
  const adapted = adaptModelFile(model, await readModelFile(model));
  const runner = new ModelRunner({ intraOpThreads: 1, interOpThreads: 1 });
  try {
    const loaded = await runner.load(adapted.sha256, async () => adapted.bytes, model);
    const lossesOf = async (split: 'train' | 'test') => {
      const data = loadMnist(split, options.samples);
      const { values, classes } = await runner.predict(loaded, data.inputs, 250);
      return lossesFromLogits(values, classes, data.labels, 'ce');
    };
    const train = await lossesOf('train');
    const heldOut = await lossesOf('test');
    const result = lossThresholdAttack(train, heldOut);
    const mean = (values: Float32Array) => values.reduce((sum, value) => sum + value, 0) / values.length;
    console.log(
      [
        `# Membership inference: ${model}`,
        '',
        `Loss-threshold attack (Yeom et al. 2018) on ${train.length} training vs ${heldOut.length} held-out MNIST digits (mnist-split/v1).`,
        '',
        table(
          ['mean CE train', 'mean CE held-out', 'AUC', 'attacker advantage', 'best threshold'],
          [
            [
              mean(train).toFixed(4),
              mean(heldOut).toFixed(4),
              result.auc.toFixed(4),
              result.advantage.toFixed(4),
              Number.isFinite(result.threshold) ? result.threshold.toPrecision(4) : '–',
            ],
          ],
        ),
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await runner.close();
  }
}
