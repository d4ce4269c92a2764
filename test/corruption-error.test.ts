import { describe, expect, it } from 'vitest';
import { corruptionErrors, type AccuracyPoint } from '../core/metrics/corruption-error';

// Hand-computed example. Baseline "base": clean error .05; fog errors .1 .2 .3 (sum .6).
// Model "m": clean error .02; fog errors .05 .1 .15 (sum .3).
//   CE_fog(m)          = .3 / .6 = .5
//   relative CE_fog(m) = (.3 - 3 x .02) / (.6 - 3 x .05) = .24 / .45 = .5333...
// Snow: base errors .2 .2 .2, m errors .1 .3 .2: CE = .6 / .6 = 1; relative = (.6 - .06) / (.6 - .15) = 1.2.
// mCE(m) = (.5 + 1) / 2 = .75; relative mCE = (.5333 + 1.2) / 2 = .8667; mean corruption accuracy
// of m = mean(.95 .9 .85 .9 .7 .8) = .85.
const points: AccuracyPoint[] = [
  { model: 'base', corruption: null, severity: null, accuracy: 0.95 },
  { model: 'm', corruption: null, severity: null, accuracy: 0.98 },
  ...[0.9, 0.8, 0.7].map((accuracy, i) => ({ model: 'base', corruption: 'fog', severity: i + 1, accuracy })),
  ...[0.95, 0.9, 0.85].map((accuracy, i) => ({ model: 'm', corruption: 'fog', severity: i + 1, accuracy })),
  ...[0.8, 0.8, 0.8].map((accuracy, i) => ({ model: 'base', corruption: 'snow', severity: i + 1, accuracy })),
  ...[0.9, 0.7, 0.8].map((accuracy, i) => ({ model: 'm', corruption: 'snow', severity: i + 1, accuracy })),
];

describe('corruption error (Hendrycks & Dietterich 2019)', () => {
  const report = corruptionErrors(points, 'base', ['fog', 'snow']);
  const m = report.models.find((model) => model.model === 'm')!;
  const base = report.models.find((model) => model.model === 'base')!;

  it('computes CE and relative CE per corruption against the baseline', () => {
    const fog = m.corruptions.find((score) => score.corruption === 'fog')!;
    expect(fog.ce).toBeCloseTo(0.5, 12);
    expect(fog.relativeCe).toBeCloseTo(0.24 / 0.45, 12);
    const snow = m.corruptions.find((score) => score.corruption === 'snow')!;
    expect(snow.ce).toBeCloseTo(1, 12);
    expect(snow.relativeCe).toBeCloseTo(1.2, 12);
  });

  it('averages them into mCE and relative mCE, and the baseline scores 1 by definition', () => {
    expect(m.mCE).toBeCloseTo(0.75, 12);
    expect(m.relativeMCE).toBeCloseTo((0.24 / 0.45 + 1.2) / 2, 12);
    expect(base.mCE).toBeCloseTo(1, 12);
    expect(base.relativeMCE).toBeCloseTo(1, 12);
    expect(m.meanCorruptionAccuracy).toBeCloseTo(0.85, 12);
  });

  it('keeps severity curves in severity order', () => {
    expect(m.corruptions.find((score) => score.corruption === 'snow')!.curve).toEqual([
      { severity: 1, accuracy: 0.9 },
      { severity: 2, accuracy: 0.7 },
      { severity: 3, accuracy: 0.8 },
    ]);
  });

  it('says whether the full ImageNet-C benchmark set (15 corruptions x 5 severities) is present', () => {
    expect(report.imagenetCBenchmarkSet).toBe(false);
    expect(report.mceCorruptions).toEqual(['fog', 'snow']);
  });

  it('averages mCE over the benchmark set only when the whole set is present, as the paper does', () => {
    const full = corruptionErrors(
      [
        ...points,
        ...[1, 2, 3, 4, 5].flatMap((severity) => [
          { model: 'base', corruption: 'extra', severity, accuracy: 0.5 },
          { model: 'm', corruption: 'extra', severity, accuracy: 0.9 },
        ]),
      ],
      'base',
      ['extra'],
    );
    expect(full.imagenetCBenchmarkSet).toBe(true);
    expect(full.mceCorruptions).toEqual(['extra']);
    // CE of extra = (5 x .1) / (5 x .5) = .2, and only it enters mCE.
    expect(full.models.find((model) => model.model === 'm')!.mCE).toBeCloseTo(0.2, 12);
  });

  it('leaves CE undefined, and says why, when the baseline makes no errors', () => {
    const perfect = corruptionErrors(
      [
        { model: 'base', corruption: 'fog', severity: 1, accuracy: 1 },
        { model: 'm', corruption: 'fog', severity: 1, accuracy: 0.9 },
      ],
      'base',
      [],
    );
    expect(perfect.models.find((model) => model.model === 'm')!.mCE).toBeNull();
    expect(perfect.excluded).toEqual([
      { corruption: 'fog', metric: 'CE', reason: 'the baseline "base" makes no errors under it' },
    ]);
  });
});
