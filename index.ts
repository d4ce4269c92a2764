/**
 * Tempest's programmatic API: start, follow and read benchmark runs from TypeScript or
 * JavaScript. The CLI (`tempest`) is built on these same functions.
 *
 * Callers using the Temporal client directly start workflow type BENCHMARK_WORKFLOW_TYPE
 * ("benchmarkWorkflow") on task queue DEFAULT_TASK_QUEUE ("tempest-benchmarks", or whatever queue
 * their `tempest worker`s poll) with one argument, a BenchmarkInput built by readBenchmarkInput,
 * and follow it with the "progress" query (progressQuery); see examples/client/start-benchmark.ts.
 */

// Workflow identity: what a Temporal client needs to start and follow a run.
export {
  BENCHMARK_WORKFLOW_TYPE,
  startBenchmark,
  followBenchmark,
  FollowInterruptedError,
} from './client/temporal-run';
export type { BenchmarkHandle } from './client/temporal-run';
export {
  DEFAULT_TASK_QUEUE,
  withBenchmarkWorker,
  createBenchmarkWorker,
  installWorkerLogging,
} from './workers/benchmark-worker';
export type { BenchmarkWorkerOptions } from './workers/benchmark-worker';
// Secured clusters (Temporal Cloud, TLS): options for Connection.connect and NativeConnection.connect.
export { resolveTemporalTarget, temporalConnectionOptions } from './client/temporal-connection';
export type {
  TemporalConnectionFlags,
  TemporalConnectionOptions,
  TemporalTarget,
} from './client/temporal-connection';
export { progressQuery, pauseSignal, resumeSignal, cancelSignal } from './workflows/benchmark';
export { benchmarkWorkflowId } from './client/run-id';

// Inputs: specs read and fully validated, exactly as `tempest run` does.
export { readBenchmarkInput } from './cli/spec-file';
export { loadSpecText, SpecError } from './spec';
export type { BenchmarkSpec } from './spec';
export type { BenchmarkInput, BenchmarkOutcome, BenchmarkProgress, SummaryRow } from './activities/types';

// Running without Temporal, and reading results.
export { runBenchmarkLocally } from './client/local-run';
export { readBenchmarkResults } from './client/results';
export { writeRunOutputs } from './client/outputs';
export { loadRunSelection } from './core/compare';
export type { RunSelection } from './core/compare';
export type { BenchmarkResults } from './core/results';
export { openArtifactStore } from './core/store/open';
export type { ArtifactStore, ArtifactRef } from './core/store/types';
export { TempestInputError } from './core/errors';

// Schedules: periodic runs over Temporal Schedules (`tempest schedule`).
export {
  createBenchmarkSchedule,
  listBenchmarkSchedules,
  describeBenchmarkSchedule,
  deleteBenchmarkSchedule,
  scheduleWorkflowIdPrefix,
} from './client/schedule';
export type { CreateScheduleOptions, ScheduleOverlap, ScheduleTiming } from './client/schedule';
