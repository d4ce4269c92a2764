import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { installWorkerLogging } from '../../workers/benchmark-worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { encryptedKeyIdsInHistoryJson, missingPayloadKeys } from '../../core/codec/history-keys';
import { workflowCodeOptions } from '../../workers/workflow-code';
import { HISTORIES_DIR, OUTPUT_FILES } from '../../client/outputs';
import { payloadEncryption, type PayloadKeyOptions } from '../payload-keys';

const jsonFilesIn = async (dir: string): Promise<string[]> => {
  try {
    return (await readdir(dir))
      .filter((entry) => entry.endsWith('.json'))
      .sort()
      .map((entry) => join(dir, entry));
  } catch {
    return [];
  }
};

/**
 * History files named by the arguments: files as given; a run folder (one with history.json) by
 * its history.json and histories/*.json; any other folder by the .json files in it.
 */
async function historyFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (!(await stat(path)).isDirectory()) {
      files.push(path);
      continue;
    }
    const found = (await readdir(path)).includes(OUTPUT_FILES.history)
      ? [join(path, OUTPUT_FILES.history), ...(await jsonFilesIn(join(path, HISTORIES_DIR)))]
      : await jsonFilesIn(path);
    if (found.length === 0) throw new Error(`${path}: no history.json, histories/*.json or *.json to replay`);
    files.push(...found);
  }
  return files;
}

/**
 * The workflow id a history was recorded under, which replay needs once a workflow derives ids
 * from its own (a sharded sweep names its shards `<id>-shard-<n>`): from a `<workflowId>.<runId>.json`
 * file name, or for a run folder's history.json from the run.json beside it.
 */
async function recordedWorkflowId(file: string): Promise<string | undefined> {
  const named = /^(.+)\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/.exec(
    basename(file),
  );
  if (named) return named[1];
  try {
    const record = JSON.parse(await readFile(join(dirname(file), OUTPUT_FILES.record), 'utf8')) as {
      run?: { workflowId?: unknown };
    };
    return typeof record.run?.workflowId === 'string' ? record.run.workflowId : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Replay exported event histories against the current workflow code. A determinism failure means
 * the code can no longer reproduce how a recorded run unfolded: exit 1 and say which history.
 * Histories of encrypted runs hold the server's encrypted payloads; they replay with the keyring
 * that encrypted them, decoded by the same codec the workers use.
 */
export async function replayCommand(
  paths: readonly string[],
  options: PayloadKeyOptions = {},
): Promise<number> {
  const { keyring, dataConverter } = await payloadEncryption(options);
  installWorkerLogging('WARN');
  let failures = 0;
  for (const file of await historyFiles(paths)) {
    const json: unknown = JSON.parse(await readFile(file, 'utf8'));
    const keyProblem = missingPayloadKeys(encryptedKeyIdsInHistoryJson(json), keyring);
    if (keyProblem) {
      failures++;
      console.log(`FAILED  ${file}: ${keyProblem}`);
      continue;
    }
    const history = historyFromJSON(json);
    try {
      await Worker.runReplayHistory(
        { ...workflowCodeOptions(), dataConverter, replayName: 'tempest-replay' },
        history,
        await recordedWorkflowId(file),
      );
      console.log(`ok      ${file}`);
    } catch (error) {
      failures++;
      const kind = error instanceof DeterminismViolationError ? 'nondeterminism' : 'replay error';
      console.log(`FAILED  ${file}: ${kind}: ${(error as Error).message.split('\n')[0]}`);
    }
  }
  return failures === 0 ? 0 : 1;
}
