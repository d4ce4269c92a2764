import { Context } from '@temporalio/activity';

/** What an activity needs from its runtime; the local executor supplies a plain in-process one. */
export interface ActivityRuntime {
  heartbeat(details?: unknown): void;
  attempt(): number;
}

export const temporalActivityRuntime: ActivityRuntime = {
  heartbeat: (details) => Context.current().heartbeat(details),
  attempt: () => Context.current().info.attempt,
};

export const inProcessActivityRuntime: ActivityRuntime = {
  heartbeat: () => undefined,
  attempt: () => 1,
};
