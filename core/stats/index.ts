/**
 * Tempest's statistics library: pure functions (no I/O), each following a published definition
 * cited in its module and tested against published reference values.
 */
export type { ConfidenceInterval, TwoByTwoCounts } from './types';
export { STATS_INPUT_ERROR } from './validate';
export { wilsonInterval, clopperPearsonInterval } from './proportions';
export type { ProportionInterval, ProportionMethod } from './proportions';
export { pairedTable, mcnemarTest } from './paired';
export type { PairedTable, McNemarResult, CorrectnessVector } from './paired';
export { bcaInterval, pairedBootstrapDifference, jackknifeAcceleration } from './bootstrap';
export type {
  IndexStatistic,
  JackknifeOptions,
  BootstrapOptions,
  BootstrapInterval,
  PairedBootstrapInterval,
} from './bootstrap';
export { replicateSummary, meanTInterval } from './replication';
export type { ReplicateSummary } from './replication';
export { holmAdjust, benjaminiHochbergAdjust } from './multiplicity';
export type { AdjustedPValues, AdjustmentMethod } from './multiplicity';
export { riskDifference, pairedRiskDifference, cohensH, oddsRatio } from './effects';
export type { OddsRatioInterval } from './effects';
export { sampleSizeTwoProportions, powerTwoProportions, sampleSizeMcNemar, powerMcNemar } from './power';
export type { SampleSize, TestLevelOptions, TwoProportionPowerOptions, TargetPowerOptions } from './power';
export { classifyPractical } from './practical';
export type { PracticalVerdict, PracticalOptions, PracticalClassification } from './practical';
export { derSimonianLaird } from './meta';
export type { RandomEffectsResult } from './meta';
