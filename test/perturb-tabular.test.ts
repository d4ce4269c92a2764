import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset, type FeatureInfo } from '../core/data/dataset';
import { profileTabular } from '../core/data/profile';
import { inputErrorOf } from './helpers/errors';
import { sha256Hex } from '../core/hash';
import type { PerturbationContext, PerturbationModule } from '../core/perturb/module';
import { categoricalFlip } from '../core/perturb/tabular/categorical-flip';
import { covariateShift, quantileOf } from '../core/perturb/tabular/covariate-shift';
import { featureNoise } from '../core/perturb/tabular/feature-noise';
import { TABULAR_MODULES } from '../core/perturb/tabular/index';
import { missingValues } from '../core/perturb/tabular/missing-values';
import { multiplicativeNoise } from '../core/perturb/tabular/multiplicative-noise';
import { scalingDrift } from '../core/perturb/tabular/scaling-drift';
import { makeTensor, sliceSamples, type LabeledData, type Tensor } from '../core/tensor/tensor';
import { applyAtSeverity, bytesOf, tabularContext } from './helpers/perturb';

interface TableFixture {
  readonly name: string;
  readonly data: LabeledData;
  readonly features: readonly FeatureInfo[];
}

/** A table built from per-row functions, one per feature. */
function syntheticTable(
  rows: number,
  columns: readonly (FeatureInfo & { value: (row: number) => number })[],
): TableFixture {
  const inputs = makeTensor([rows, columns.length]);
  for (let row = 0; row < rows; row++) {
    columns.forEach((column, j) => (inputs.data[row * columns.length + j] = column.value(row)));
  }
  return {
    name: 'synthetic',
    data: { inputs, labels: new Int32Array(rows) },
    features: columns.map(({ name, kind }) => ({ name, kind })),
  };
}

/** 101 rows: x = 0..100 (so its percentiles are exactly 0..100), a permuted y, two categoricals. */
const synthetic = syntheticTable(101, [
  { name: 'x', kind: 'numeric', value: (row) => row },
  { name: 'c', kind: 'categorical', value: (row) => row % 3 },
  { name: 'y', kind: 'numeric', value: (row) => 20 + ((row * 37) % 101) * 0.5 },
  { name: 'd', kind: 'categorical', value: (row) => (row % 4 === 0 ? 7 : 3) },
]);

let penguins: TableFixture;

beforeAll(async () => {
  const loaded = await loadDataset(
    { source: 'csv', path: 'penguins/penguins.csv', labelColumn: 'species', categorical: ['island', 'sex'] },
    join(__dirname, '..', 'examples'),
  );
  penguins = { name: 'penguins', data: loaded.data, features: loaded.features! };
});

const fixtures = (): TableFixture[] => [penguins, synthetic];

const contextOf = (table: TableFixture, seed: number, firstSampleIndex = 0): PerturbationContext =>
  tabularContext(seed, table.data, table.features, firstSampleIndex);

const perturb = (module: PerturbationModule, table: TableFixture, severity: number, seed = 1): Tensor =>
  applyAtSeverity(module, table.data.inputs, severity, contextOf(table, seed));

const hashOfTensor = (tensor: Tensor): string => sha256Hex(bytesOf(tensor));

/** The values of one column. */
function column(tensor: Tensor, index: number): Float32Array {
  const width = tensor.dims[1];
  return Float32Array.from({ length: tensor.dims[0] }, (_, row) => tensor.data[row * width + index]);
}

/** Mean absolute change over the given columns, each measured in its feature's SD. */
function changeInSds(table: TableFixture, output: Tensor, columns: readonly number[]): number {
  const profile = profileTabular(table.data, table.features);
  let total = 0;
  for (const j of columns) {
    const before = column(table.data.inputs, j);
    const after = column(output, j);
    for (let row = 0; row < before.length; row++)
      total += Math.abs(after[row] - before[row]) / profile.features[j].std;
  }
  return total / (columns.length * table.data.labels.length);
}

/** Which kinds each module touches with its default parameters. */
const TOUCHED_KINDS: Record<string, readonly FeatureInfo['kind'][]> = {
  feature_noise: ['numeric'],
  multiplicative_noise: ['numeric'],
  missing_values: ['numeric', 'categorical'],
  categorical_flip: ['categorical'],
  covariate_shift: ['numeric'],
  scaling_drift: ['numeric'],
};

const columnsOfKinds = (table: TableFixture, kinds: readonly FeatureInfo['kind'][]): number[] =>
  table.features.flatMap((feature, index) => (kinds.includes(feature.kind) ? [index] : []));

describe('tabular modules', () => {
  it('lists every module once, all tabular, version 1.0.0, with a 5-step severity scale', () => {
    expect(TABULAR_MODULES.map((module) => module.name)).toEqual(Object.keys(TOUCHED_KINDS));
    for (const module of TABULAR_MODULES) {
      expect(module.inputKind).toBe('tabular');
      expect(module.version).toBe('1.0.0');
      for (let severity = 1; severity <= 5; severity++) {
        expect(() => module.params.parse(module.severityParams!(severity))).not.toThrow();
      }
      expect(() => module.params.parse({ ...module.severityParams!(1), typo: 1 })).toThrow();
    }
  });

  describe.each(TABULAR_MODULES.map((module) => [module.name, module] as const))('%s', (name, module) => {
    it('keeps shape and dtype, never produces NaN, and keeps category codes valid', () => {
      for (const table of fixtures()) {
        const profile = profileTabular(table.data, table.features);
        for (let severity = 1; severity <= 5; severity++) {
          const output = perturb(module, table, severity);
          expect(output.dims).toEqual(table.data.inputs.dims);
          expect(output.data).toBeInstanceOf(Float32Array);
          expect(output.data.every(Number.isFinite), `${table.name} s${severity}`).toBe(true);
          for (const j of columnsOfKinds(table, ['categorical'])) {
            const codes = new Set(profile.features[j].categories.map((category) => category.code));
            expect(
              column(output, j).every((code) => codes.has(code)),
              `${table.name} ${table.features[j].name}`,
            ).toBe(true);
          }
        }
      }
    });

    it('leaves features of the other kind untouched, and changes its own', () => {
      for (const table of fixtures()) {
        const output = perturb(module, table, 5);
        table.features.forEach((feature, j) => {
          const before = column(table.data.inputs, j);
          const after = column(output, j);
          if (TOUCHED_KINDS[name].includes(feature.kind)) {
            expect(after, `${table.name} ${feature.name}`).not.toEqual(before);
          } else {
            expect(after, `${table.name} ${feature.name}`).toEqual(before);
          }
        });
      }
    });

    it('changes only the features named in params.features', () => {
      const table = penguins;
      const target = columnsOfKinds(table, TOUCHED_KINDS[name])[0];
      const params = { ...module.severityParams!(5), features: [table.features[target].name] };
      const output = module.apply(table.data.inputs, params, contextOf(table, 1));
      table.features.forEach((feature, j) => {
        const before = column(table.data.inputs, j);
        if (j === target) expect(column(output, j), feature.name).not.toEqual(before);
        else expect(column(output, j), feature.name).toEqual(before);
      });
    });

    it('gives the same bytes for the same seed; stochastic modules differ under another seed', () => {
      const first = hashOfTensor(perturb(module, penguins, 3, 1));
      expect(hashOfTensor(perturb(module, penguins, 3, 1))).toBe(first);
      const other = hashOfTensor(perturb(module, penguins, 3, 2));
      if (module.stochastic) expect(other).not.toBe(first);
      else expect(other).toBe(first);
    });

    it('does not depend on batching: each sample draws from its own stream', () => {
      const inputs = penguins.data.inputs;
      const params = module.severityParams!(4);
      const whole = module.apply(inputs, params, contextOf(penguins, 7));
      const head = module.apply(sliceSamples(inputs, 0, 100), params, contextOf(penguins, 7, 0));
      const tail = module.apply(
        sliceSamples(inputs, 100, inputs.dims[0]),
        params,
        contextOf(penguins, 7, 100),
      );
      expect([...head.data, ...tail.data]).toEqual([...whole.data]);
    });

    it('moves the data further (in feature SDs) as severity grows', () => {
      for (const table of fixtures()) {
        const touched = columnsOfKinds(table, TOUCHED_KINDS[name]);
        const changes = [1, 2, 3, 4, 5].map((severity) =>
          changeInSds(table, perturb(module, table, severity, 3), touched),
        );
        for (let s = 1; s < 5; s++)
          expect(changes[s], `${table.name} s${s + 1}: ${changes.join(', ')}`).toBeGreaterThan(
            changes[s - 1],
          );
      }
    });

    it('refuses non-tabular input, undescribed features and unknown or wrong-kind feature names', () => {
      const params = module.severityParams!(1);
      const images = makeTensor([2, 1, 2, 2]);
      const imageError = inputErrorOf(() => module.apply(images, params, contextOf(penguins, 1)));
      expect(imageError.kind).toBe('InputKindMismatch');
      expect(imageError.message).toMatch(/\[2, 1, 2, 2\]/);

      const { features: _features, ...undescribed } = contextOf(penguins, 1);
      expect(inputErrorOf(() => module.apply(penguins.data.inputs, params, undescribed)).kind).toBe(
        'InputKindMismatch',
      );

      const unknown = inputErrorOf(() =>
        module.apply(penguins.data.inputs, { ...params, features: ['beak_length'] }, contextOf(penguins, 1)),
      );
      expect(unknown.kind).toBe('UnknownFeature');
      expect(unknown.message).toMatch(/"beak_length".*island, bill_length_mm/);

      if (!TOUCHED_KINDS[name].includes('categorical')) {
        const wrongKind = inputErrorOf(() =>
          module.apply(penguins.data.inputs, { ...params, features: ['island'] }, contextOf(penguins, 1)),
        );
        expect(wrongKind.kind).toBe('FeatureKindMismatch');
      }
    });
  });

  it('pins the output bytes of version 1.0.0 of every module on the penguins at severity 3, seed 1', () => {
    const hashes = Object.fromEntries(
      TABULAR_MODULES.map((module) => [
        `${module.name}@${module.version}`,
        hashOfTensor(perturb(module, penguins, 3, 1)),
      ]),
    );
    expect(hashes).toMatchInlineSnapshot(`
      {
        "categorical_flip@1.0.0": "6ee1c6d7c4b609c3ba11c237d40568cd4aef9eb39795262a6ee61c17c82356b3",
        "covariate_shift@1.0.0": "b96abbe23a88986f37d82041214ae07976036f88213ddee7f61048e2059977de",
        "feature_noise@1.0.0": "219716d52a4e3b3e5d06aa9d32b5e0a897299cb33e595e837c6d9dddd9abf89a",
        "missing_values@1.0.0": "6373a3c4004969b8e0927a6820d3a9bd5a5617a2b4446130d7f4261df611ebd7",
        "multiplicative_noise@1.0.0": "ad21dd49980e8eb49ceaca88fbe39ab484cf614c75b9e3ffbf0c4544bd93cc98",
        "scaling_drift@1.0.0": "ed3edb58cdf84f3bd4afe138b4d39b7783d6f9d6d5e645265d82592a7d1e840a",
      }
    `);
  });
});

/** A large two-valued table, where the empirical rates of stochastic modules can be checked. */
const balanced = syntheticTable(20_000, [
  { name: 'x', kind: 'numeric', value: (row) => 2 + (row % 2) },
  { name: 'c', kind: 'categorical', value: (row) => [0, 0, 0, 0, 0, 1, 1, 1, 2, 2][row % 10] },
]);

/** SD of a sample of values. */
function sdOf(values: readonly number[]): number {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.sqrt(values.reduce((sum, value) => sum + (value - mean) ** 2, 0) / (values.length - 1));
}

describe('tabular modules: hand-checked values', () => {
  it('feature_noise adds noise with SD = scale x the feature SD', () => {
    const sd = profileTabular(balanced.data, balanced.features).features[0].std;
    const output = perturb(featureNoise, balanced, 5);
    const before = column(balanced.data.inputs, 0);
    const noise = Array.from(column(output, 0), (value, row) => value - before[row]);
    // 20,000 draws: the SD estimate is within 3% with a wide margin (SE about 0.5%).
    expect(Math.abs(sdOf(noise) / (0.8 * sd) - 1)).toBeLessThan(0.03);
  });

  it('multiplicative_noise adds relative noise with SD sigma', () => {
    const output = perturb(multiplicativeNoise, balanced, 5);
    const before = column(balanced.data.inputs, 0);
    const relative = Array.from(column(output, 0), (value, row) => value / before[row] - 1);
    expect(Math.abs(sdOf(relative) / 0.25 - 1)).toBeLessThan(0.03);
  });

  it('missing_values loses a fraction p of the cells and fills them with the mean and the mode', () => {
    const output = perturb(missingValues, balanced, 3);
    const x = column(output, 0);
    const imputedX = x.filter((value) => value === 2.5).length / x.length;
    expect(Math.abs(imputedX - 0.2)).toBeLessThan(0.015);
    // The mode of c is 0 (half the rows); only rows with another code show the loss.
    const c = column(output, 1);
    const before = column(balanced.data.inputs, 1);
    const others = before.filter((code) => code !== 0).length;
    const lost = c.filter((code, row) => before[row] !== 0 && code === 0).length;
    expect(Math.abs(lost / others - 0.2)).toBeLessThan(0.02);
  });

  it('missing_values with an explicit imputation fills only the features of its kind', () => {
    const context = contextOf(synthetic, 1);
    const median = missingValues.apply(
      synthetic.data.inputs,
      { probability: 1, imputation: 'median' },
      context,
    );
    expect(new Set(column(median, 0))).toEqual(new Set([50]));
    expect(new Set(column(median, 2))).toEqual(new Set([45]));
    expect(column(median, 1)).toEqual(column(synthetic.data.inputs, 1));
    const zero = missingValues.apply(
      synthetic.data.inputs,
      { probability: 1, imputation: 'zero', features: ['y'] },
      context,
    );
    expect(new Set(column(zero, 2))).toEqual(new Set([0]));
    // d is 3 in three rows of four: its mode is 3.
    const mode = missingValues.apply(synthetic.data.inputs, { probability: 1, imputation: 'mode' }, context);
    expect(new Set(column(mode, 3))).toEqual(new Set([3]));
    expect(new Set(column(mode, 1))).toEqual(new Set([0]));
    expect(() =>
      missingValues.apply(
        synthetic.data.inputs,
        { probability: 1, imputation: 'mode', features: ['x'] },
        context,
      ),
    ).toThrow(/perturbs categorical features, but "x" is numeric/);
  });

  it('categorical_flip replaces a fraction p of the cells by another category, drawn by frequency', () => {
    const output = perturb(categoricalFlip, balanced, 5);
    const before = column(balanced.data.inputs, 1);
    const after = column(output, 1);
    const flipped = after.filter((code, row) => code !== before[row]).length / after.length;
    expect(Math.abs(flipped - 0.5)).toBeLessThan(0.015);
    // From category 0 (frequency .5) the others are drawn as .3 / .5 = .6 (code 1) and .4 (code 2).
    const fromZero = after.filter((code, row) => before[row] === 0 && code !== 0);
    const toOne = fromZero.filter((code) => code === 1).length / fromZero.length;
    expect(Math.abs(toOne - 0.6)).toBeLessThan(0.025);
    expect(column(output, 0)).toEqual(column(balanced.data.inputs, 0));
  });

  it('covariate_shift moves each value up its distribution by delta quantiles', () => {
    const context = contextOf(synthetic, 1);
    // x = 0..100 has percentiles 0..100: the median moves to the 60th percentile at delta .1.
    const output = covariateShift.apply(synthetic.data.inputs, { delta: 0.1, features: ['x'] }, context);
    const x = column(output, 0);
    expect(x[50]).toBe(60);
    expect(x[0]).toBe(10);
    expect(x[95]).toBe(100);
    expect(x[100]).toBe(100);
    const down = covariateShift.apply(synthetic.data.inputs, { delta: -0.25, features: ['x'] }, context);
    expect(column(down, 0)[50]).toBe(25);
    expect(column(down, 0)[10]).toBe(0);
  });

  it('covariate_shift reads a tie run of percentiles at its middle (mid-rank)', () => {
    const percentiles = Float64Array.from({ length: 101 }, (_, k) => (k < 40 ? k : k <= 60 ? 40 : k - 20));
    expect(quantileOf(percentiles, 40)).toBe(0.5);
    expect(quantileOf(percentiles, 20.5)).toBeCloseTo(0.205, 12);
    expect(quantileOf(percentiles, 41)).toBeCloseTo(0.61, 12);
    expect(quantileOf(percentiles, -1)).toBe(0);
    expect(quantileOf(percentiles, 81)).toBe(1);
  });

  it('scaling_drift moves the mean by b SDs and scales deviations by 1 + a', () => {
    const profile = profileTabular(synthetic.data, synthetic.features).features[0];
    expect(profile.mean).toBe(50);
    const inputs = makeTensor([2, 4], Float32Array.from([50, 0, 20, 3, 60, 1, 20, 7]));
    const output = scalingDrift.apply(
      inputs,
      { gain: 0.3, offset: 0.6, features: ['x'] },
      contextOf(synthetic, 1),
    );
    expect(output.data[0]).toBeCloseTo(50 + 0.6 * profile.std, 4);
    expect(output.data[4]).toBeCloseTo(50 + 10 * 1.3 + 0.6 * profile.std, 4);
    expect(Array.from(output.data).filter((_, i) => i % 4 !== 0)).toEqual([0, 20, 3, 1, 20, 7]);
    expect(scalingDrift.severityParams!(4)).toEqual({ gain: 0.3, offset: 0.6 });
  });
});
