import { z } from 'zod';
import type { PerturbationModule } from '../module';
import { FeatureSelection, mapSelected, profilesOf, selectFeatures, tableOf } from './table';

/** Gain error a and offset b (in the feature's SDs) per severity; b = 2a throughout. */
const DRIFT_BY_SEVERITY = [
  { gain: 0.05, offset: 0.1 },
  { gain: 0.1, offset: 0.2 },
  { gain: 0.2, offset: 0.4 },
  { gain: 0.3, offset: 0.6 },
  { gain: 0.4, offset: 0.8 },
] as const;

const ScalingDriftParams = z
  .object({
    gain: z
      .number()
      .gt(-1)
      .max(10)
      .describe('Relative gain error a: deviations from the mean scale by 1 + a'),
    offset: z.number().min(-10).max(10).describe("Offset b, in units of the feature's SD"),
    features: FeatureSelection,
  })
  .strict();
type ScalingDriftParams = z.infer<typeof ScalingDriftParams>;

/**
 * Sensor calibration drift on numeric features: x' = mean + (x - mean) * (1 + a) + b * sd, with
 * the feature's mean and SD over the whole clean dataset. A drifting sensor's error has a gain
 * part (a) and an offset part (b); the gain acts around the mean so that the population's centre
 * only moves by the offset, and the offset is in SDs so that a severity means the same on every
 * feature. (a, b) = (.05, .1) (.1, .2) (.2, .4) (.3, .6) (.4, .8) for severities 1-5: the ratio is
 * fixed, so the change x' - x = a * (x - mean) + b * sd scales linearly with the severity's a,
 * from a barely noticeable recalibration to the population's centre moving almost one SD with
 * its spread 40% wider. Deterministic: one cell per condition, not one per seed.
 */
export const scalingDrift: PerturbationModule<ScalingDriftParams> = {
  name: 'scaling_drift',
  version: '1.0.0',
  description: 'Gain and offset drift around the mean: mean + (x - mean) * (1 + a) + b * sd',
  reference:
    'Tempest tabular suite: (a, b) = (.05, .1) (.1, .2) (.2, .4) (.3, .6) (.4, .8) for severities 1-5',
  inputKind: 'tabular',
  stochastic: false,
  params: ScalingDriftParams,
  severityParams(severity: number): ScalingDriftParams {
    return { ...DRIFT_BY_SEVERITY[severity - 1] };
  },
  apply(batch, params, context) {
    const table = tableOf(batch, context, 'scaling_drift');
    const selected = selectFeatures(table, params.features, ['numeric'], 'scaling_drift');
    const profiles = profilesOf(table, context, 'scaling_drift');
    const means = Float64Array.from(profiles, (p) => p.mean);
    const shifts = Float64Array.from(profiles, (p) => params.offset * p.std);
    return mapSelected(
      batch,
      table,
      selected,
      (value, column) => means[column] + (value - means[column]) * (1 + params.gain) + shifts[column],
    );
  },
};
