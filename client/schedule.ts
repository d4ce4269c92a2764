import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type Client,
  type ScheduleDescription,
  type ScheduleSpec,
  type ScheduleSummary,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import type { BenchmarkInput } from '../activities/types';
import { TempestInputError } from '../core/errors';
import { benchmarkWorkflow } from '../workflows/benchmark';
import { BENCHMARK_WORKFLOW_TYPE } from './temporal-run';

/** How a schedule's runs relate to one another when a run outlasts the interval. */
export type ScheduleOverlap = 'skip' | 'buffer-one' | 'allow-all';

const OVERLAP_POLICIES: Record<ScheduleOverlap, ScheduleOverlapPolicy> = {
  skip: ScheduleOverlapPolicy.SKIP,
  'buffer-one': ScheduleOverlapPolicy.BUFFER_ONE,
  'allow-all': ScheduleOverlapPolicy.ALLOW_ALL,
};

/** When a schedule fires: a fixed interval ("5s", "1h", "1d") or a cron expression. */
export type ScheduleTiming = { readonly every: string } | { readonly cron: string };

export interface CreateScheduleOptions {
  readonly taskQueue: string;
  readonly timing: ScheduleTiming;
  /** Default 'skip': a benchmark still running is not started a second time. */
  readonly overlap?: ScheduleOverlap;
  /** Create the schedule paused (unpause it with the Temporal CLI or Web UI). */
  readonly paused?: boolean;
}

// Schedule ids end up in workflow ids, URLs and shell commands: keep them plain.
const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
// An interval shorter than this would mostly start runs that get skipped as overlapping.
const MIN_INTERVAL_MS = 1000;

export function checkScheduleName(name: string): string {
  if (!SCHEDULE_NAME.test(name)) {
    throw new TempestInputError(
      `schedule name "${name}": use 1-100 letters, digits, '.', '_' or '-', starting with a letter or digit`,
      'BadScheduleName',
    );
  }
  return name;
}

/**
 * The workflow id every run of a schedule starts with. Temporal appends the scheduled time
 * ("-2026-01-01T00:00:00Z") to it, so each triggered run gets its own id, and runs of different
 * schedules, or of `tempest run` (ids "tempest-<spec>-<hash>"), never collide.
 */
export function scheduleWorkflowIdPrefix(name: string): string {
  return `tempest-schedule-${name}`;
}

export function timingText(timing: ScheduleTiming): string {
  return 'every' in timing ? `every ${timing.every}` : `cron "${timing.cron}"`;
}

export function scheduleSpecOf(timing: ScheduleTiming): ScheduleSpec {
  if ('cron' in timing) {
    if (timing.cron.trim().split(/\s+/).length < 5) {
      throw new TempestInputError(
        `--cron "${timing.cron}": expected 5 fields (minute hour day-of-month month day-of-week), e.g. "0 3 * * *"`,
        'BadSchedule',
      );
    }
    return { cronExpressions: [timing.cron.trim()] };
  }
  let ms: number;
  try {
    ms = msToNumber(timing.every as Parameters<typeof msToNumber>[0]);
  } catch {
    ms = Number.NaN;
  }
  if (!Number.isFinite(ms) || ms < MIN_INTERVAL_MS) {
    throw new TempestInputError(
      `--every "${timing.every}": expected a duration of at least 1s, e.g. 30s, 15m, 6h, 1d`,
      'BadSchedule',
    );
  }
  return { intervals: [{ every: ms }] };
}

/**
 * Create a Temporal schedule whose action starts the benchmark workflow with `input`, which the
 * caller has validated (readBenchmarkInput): a bad spec fails here, not at every trigger.
 */
export async function createBenchmarkSchedule(
  client: Client,
  name: string,
  input: BenchmarkInput,
  options: CreateScheduleOptions,
): Promise<void> {
  checkScheduleName(name);
  const spec = scheduleSpecOf(options.timing);
  try {
    await client.schedule.create({
      scheduleId: name,
      spec,
      action: {
        type: 'startWorkflow',
        workflowType: benchmarkWorkflow,
        args: [input],
        taskQueue: options.taskQueue,
        workflowId: scheduleWorkflowIdPrefix(name),
      },
      policies: { overlap: OVERLAP_POLICIES[options.overlap ?? 'skip'] },
      state: {
        paused: options.paused ?? false,
        // Cron expressions come back from the server as calendar specs; the note keeps what the user wrote.
        note: `${input.spec.name} from ${input.specSource}, ${timingText(options.timing)}`,
      },
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning) {
      throw new TempestInputError(
        `schedule "${name}" already exists; delete it first (tempest schedule delete ${name}) or pick another name`,
        'ScheduleExists',
      );
    }
    // The server checks cron syntax; the SDK raises its INVALID_ARGUMENT answer as a TypeError
    // whose message names the problem ("Minute is not in range [0-59]").
    if (error instanceof TypeError) {
      const what = 'cron' in options.timing ? `--cron "${options.timing.cron}"` : `schedule "${name}"`;
      throw new TempestInputError(`${what}: ${error.message}`, 'BadSchedule');
    }
    throw error;
  }
}

/** Schedules that start benchmark workflows (other schedules in the namespace are left out). */
export async function listBenchmarkSchedules(client: Client): Promise<ScheduleSummary[]> {
  const schedules: ScheduleSummary[] = [];
  for await (const schedule of client.schedule.list()) {
    if (schedule.action?.workflowType === BENCHMARK_WORKFLOW_TYPE) schedules.push(schedule);
  }
  return schedules.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

function notFound(name: string, error: unknown): never {
  if (error instanceof ScheduleNotFoundError) {
    throw new TempestInputError(
      `no schedule "${name}" in this namespace (tempest schedule list shows them)`,
      'ScheduleNotFound',
    );
  }
  throw error;
}

export async function describeBenchmarkSchedule(client: Client, name: string): Promise<ScheduleDescription> {
  return client.schedule
    .getHandle(name)
    .describe()
    .catch((error: unknown) => notFound(name, error));
}

/** Delete the schedule; runs it already started keep running and keep their results. */
export async function deleteBenchmarkSchedule(client: Client, name: string): Promise<void> {
  await client.schedule
    .getHandle(name)
    .delete()
    .catch((error: unknown) => notFound(name, error));
}
