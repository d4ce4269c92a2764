import type { ScheduleDescription } from '@temporalio/client';
import {
  checkScheduleName,
  createBenchmarkSchedule,
  deleteBenchmarkSchedule,
  describeBenchmarkSchedule,
  listBenchmarkSchedules,
  scheduleSpecOf,
  scheduleWorkflowIdPrefix,
  timingText,
  type ScheduleOverlap,
  type ScheduleTiming,
} from '../../client/schedule';
import { resolveTemporalTarget, type TemporalConnectionFlags } from '../../client/temporal-connection';
import { TempestInputError } from '../../core/errors';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';
import { readBenchmarkInput } from '../spec-file';
import { openTemporalSession, type TemporalSession } from '../temporal-session';

export type ScheduleTargetOptions = PayloadKeyOptions & TemporalConnectionFlags;

export interface ScheduleCreateOptions extends ScheduleTargetOptions {
  readonly spec: string;
  readonly every?: string;
  readonly cron?: string;
  readonly taskQueue: string;
  readonly overlap: ScheduleOverlap;
  readonly pause: boolean;
}

async function withSession<T>(
  options: ScheduleTargetOptions,
  use: (session: TemporalSession) => Promise<T>,
): Promise<T> {
  // The schedule's action carries the spec as a payload: with a payload key it is stored encrypted.
  const { dataConverter } = await payloadEncryption(options);
  const session = await openTemporalSession({ ...resolveTemporalTarget(options), dataConverter });
  try {
    return await use(session);
  } finally {
    await session.close();
  }
}

function timingOf(options: ScheduleCreateOptions): ScheduleTiming {
  if (options.every !== undefined && options.cron !== undefined) {
    throw new TempestInputError('give either --every or --cron, not both', 'BadSchedule');
  }
  if (options.every !== undefined) return { every: options.every };
  if (options.cron !== undefined) return { cron: options.cron };
  throw new TempestInputError(
    'give --every DURATION (e.g. 6h) or --cron "EXPR" (e.g. "0 3 * * *")',
    'BadSchedule',
  );
}

export async function scheduleCreateCommand(name: string, options: ScheduleCreateOptions): Promise<number> {
  const timing = timingOf(options);
  // Name and timing are checked before connecting, so a typo fails in a second, server or not.
  checkScheduleName(name);
  scheduleSpecOf(timing);
  // Validated exactly like `tempest run`: a bad spec is refused now rather than failing every trigger.
  const input = await readBenchmarkInput(options.spec);
  return withSession(options, async (session) => {
    await createBenchmarkSchedule(session.client, name, input, {
      taskQueue: options.taskQueue,
      timing,
      overlap: options.overlap,
      paused: options.pause,
    });
    const when = timingText(timing);
    console.log(
      `schedule ${name}: ${input.spec.name} ${when} on task queue ${options.taskQueue} at ${session.address}` +
        `${options.pause ? ' (paused)' : ''}; runs are workflows ${scheduleWorkflowIdPrefix(name)}-<time>`,
    );
    if (session.server) {
      // The embedded server only runs while some Tempest process holds it, and nothing executes
      // a triggered run without a worker: say how to keep both up.
      console.log(
        'embedded dev server: runs start only while it is up and execute only with a worker; keep ' +
          '`tempest worker --embedded` running (it also keeps the server up).',
      );
    }
    return 0;
  });
}

export async function scheduleListCommand(options: ScheduleTargetOptions): Promise<number> {
  return withSession(options, async (session) => {
    const schedules = await listBenchmarkSchedules(session.client);
    if (schedules.length === 0) console.log('no benchmark schedules');
    for (const schedule of schedules) {
      const next = schedule.info.nextActionTimes[0];
      console.log(
        `${schedule.scheduleId}  ${schedule.state.paused ? 'paused' : 'active'}  ` +
          `next ${next ? next.toISOString() : '-'}  recent runs ${schedule.info.recentActions.length}` +
          (schedule.state.note ? `  ${schedule.state.note}` : ''),
      );
    }
    return 0;
  });
}

/** 90000 -> "1m30s": intervals come back from the server in milliseconds. */
function durationText(ms: number): string {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  let rest = ms;
  let text = '';
  for (const [unit, size] of units) {
    if (rest >= size) {
      text += `${Math.floor(rest / size)}${unit}`;
      rest %= size;
    }
  }
  return rest > 0 || text === '' ? `${text}${rest}ms` : text;
}

function describeSpec(description: ScheduleDescription): string {
  const intervals =
    description.spec.intervals?.map((interval) => `every ${durationText(interval.every)}`) ?? [];
  const calendars = description.spec.calendars?.length ? ['calendar (cron, UTC)'] : [];
  return [...intervals, ...calendars].join(', ') || '-';
}

export async function scheduleDescribeCommand(name: string, options: ScheduleTargetOptions): Promise<number> {
  return withSession(options, async (session) => {
    const description = await describeBenchmarkSchedule(session.client, name);
    const action = description.action;
    console.log(`schedule ${description.scheduleId}`);
    console.log(
      `  state: ${description.state.paused ? 'paused' : 'active'}${description.state.note ? ` (${description.state.note})` : ''}`,
    );
    console.log(`  when: ${describeSpec(description)}`);
    console.log(`  overlap: ${description.policies.overlap}`);
    if (action.type === 'startWorkflow') {
      console.log(
        `  starts: ${action.workflowType} on task queue ${action.taskQueue}, ids ${action.workflowId}-<time>`,
      );
    }
    console.log(
      `  actions taken: ${description.info.numActionsTaken} (skipped as overlapping: ${description.info.numActionsSkippedOverlap})`,
    );
    console.log('  next runs:');
    for (const time of description.info.nextActionTimes.slice(0, 5)) console.log(`    ${time.toISOString()}`);
    console.log('  recent runs (tempest status ID shows one):');
    if (description.info.recentActions.length === 0) console.log('    none yet');
    for (const recent of description.info.recentActions) {
      console.log(`    ${recent.takenAt.toISOString()}  ${recent.action.workflow.workflowId}`);
    }
    return 0;
  });
}

export async function scheduleDeleteCommand(name: string, options: ScheduleTargetOptions): Promise<number> {
  return withSession(options, async (session) => {
    await deleteBenchmarkSchedule(session.client, name);
    console.log(`deleted schedule ${name}; runs it already started are not affected`);
    return 0;
  });
}
