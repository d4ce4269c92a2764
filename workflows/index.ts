export { benchmarkWorkflow } from './benchmark';
