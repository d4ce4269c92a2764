import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root';

/** The prebuilt workflow bundle written by `npm run build` (saves a webpack run at every start). */
export function prebuiltBundlePath(): string {
  return join(packageRoot(), 'dist', 'workflow-bundle.js');
}

/**
 * How a Worker (or the replayer) gets workflow code: the prebuilt bundle when present, otherwise
 * bundling the sources on the fly. Production and replay must use the same code, so both go
 * through here.
 */
export function workflowCodeOptions(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = prebuiltBundlePath();
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  return { workflowsPath: join(packageRoot(), 'workflows', 'index.ts') };
}
