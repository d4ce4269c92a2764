import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultCacheDir } from './temporal-cli';

const run = promisify(execFile);

/**
 * A Python virtual environment under the project's cache with the given packages, created on
 * first use (pip reaches the PyPI mirror; nothing is installed system-wide). Used by tests that
 * check our output with an independent reference implementation, e.g. the W3C PROV library.
 */
export async function ensurePythonVenv(name: string, packages: readonly string[]): Promise<string> {
  const dir = join(defaultCacheDir(), 'venvs', name);
  const python = join(dir, 'bin', 'python');
  const marker = join(dir, `.installed-${packages.join('_').replace(/[^A-Za-z0-9_.=-]/g, '')}`);
  if (existsSync(marker)) return python;
  const interpreter = process.env.PYTHON ?? 'python3';
  try {
    await run(interpreter, ['-m', 'venv', dir]);
    await run(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...packages], {
      timeout: 300_000,
    });
  } catch (error) {
    throw new Error(
      `could not set up the Python environment ${dir} with ${packages.join(', ')}: ${(error as Error).message.split('\n')[0]}. ` +
        'Tempest needs python3 with the venv module and pip access to PyPI (or a mirror) for this step.',
      { cause: error },
    );
  }
  await run(python, ['-c', `open(${JSON.stringify(marker)}, "w").close()`]);
  return python;
}
