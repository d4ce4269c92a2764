import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { packageRoot } from '../core/package-root';
import { prebuiltBundlePath } from './workflow-code';

/** Build step: bundle the compiled workflow code once, so workers and `tempest replay` start fast. */
async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(packageRoot(), 'dist', 'workflows', 'index.js'),
    logger: {
      log: () => undefined,
      trace: () => undefined,
      debug: () => undefined,
      info: () => undefined,
      warn: console.warn,
      error: console.error,
    },
  });
  const target = prebuiltBundlePath();
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, code);
  console.log(`workflow bundle: ${target} (${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
