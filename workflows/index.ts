export { benchmarkWorkflow, cellShardWorkflow } from './benchmark';
