import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PACKAGE_NAME = 'tempest-bench';

/**
 * The folder holding Tempest's package.json, found by walking up from this file, so paths work
 * the same from the TypeScript sources (tests) and from the compiled dist/ (CLI).
 */
export function packageRoot(): string {
  let dir = __dirname;
  while (dir !== dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === PACKAGE_NAME)
          return dir;
      } catch {
        // not ours; keep walking
      }
    }
    dir = dirname(dir);
  }
  throw new Error(`cannot find the ${PACKAGE_NAME} package root above ${__dirname}`);
}

export function packageVersionOfTempest(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string })
    .version;
}
