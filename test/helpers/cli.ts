import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REPO_ROOT = join(__dirname, '..', '..');
export const TEMPEST_BIN = join(REPO_ROOT, 'bin', 'tempest.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `tempest-${prefix}-`));
}

/** A temporary folder inside the repository, where files can `require` Tempest's own packages (zod). */
export async function repoTempDir(prefix: string): Promise<string> {
  const parent = join(REPO_ROOT, '.tempest', 'test-tmp');
  await mkdir(parent, { recursive: true });
  return mkdtemp(join(parent, `${prefix}-`));
}

const running = new Set<ChildProcess>();

/** Start the built `tempest` CLI (run `npm run build` first; `npm test` does) as a child process. */
export function spawnTempest(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, [TEMPEST_BIN, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.on('exit', () => running.delete(child));
  return child;
}

/**
 * SIGKILL every CLI process a test started that is still running. Test files call it after all
 * tests, so a failed or timed-out test cannot leave workers polling on the machine.
 */
export function killSpawnedTempests(): void {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
}

/** Run the CLI to completion (bounded by `timeoutMs`), collecting its output. */
export function runTempest(
  args: readonly string[],
  env: Record<string, string> = {},
  timeoutMs = 180_000,
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTempest(args, env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tempest ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
