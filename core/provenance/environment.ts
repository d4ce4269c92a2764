import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, platform, release, totalmem, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { packageVersionOfTempest } from '../package-root';
import { redact } from '../redact';

/** Packages whose versions can change results or their orchestration; recorded in every run. */
const TRACKED_PACKAGES = [
  'onnxruntime-node',
  'onnxruntime-common',
  '@temporalio/worker',
  '@temporalio/workflow',
  '@temporalio/client',
  '@stdlib/stats-base-dists-normal-quantile',
  'zod',
  'mnist',
] as const;

function packageVersion(name: string): string {
  try {
    const manifest = require.resolve(`${name}/package.json`);
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
  } catch {
    // Packages whose exports hide package.json: walk up from the entry point.
    try {
      let dir = dirname(require.resolve(name));
      while (dir !== dirname(dir)) {
        try {
          const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
            name?: string;
            version?: string;
          };
          if (manifest.name === name && manifest.version) return manifest.version;
        } catch {
          // keep walking
        }
        dir = dirname(dir);
      }
    } catch {
      // not installed
    }
    return 'not installed';
  }
}

export interface EnvironmentRecord {
  readonly tempest: string;
  readonly node: string;
  readonly v8: string;
  readonly platform: string;
  readonly osRelease: string;
  readonly arch: string;
  readonly cpuModel: string;
  readonly cpuCount: number;
  readonly totalMemoryBytes: number;
  readonly hostname: string;
  readonly user: string;
  readonly packages: Record<string, string>;
}

/**
 * The machine and software a piece of work ran on. No environment variables are recorded; the
 * record still goes through redact() so a credential in, say, a hostname or user name never lands
 * in provenance.
 */
export function captureEnvironment(): EnvironmentRecord {
  const cpuList = cpus();
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // some containers have no passwd entry for the uid
  }
  return redact({
    tempest: packageVersionOfTempest(),
    node: process.versions.node,
    v8: process.versions.v8,
    platform: platform(),
    osRelease: release(),
    arch: arch(),
    cpuModel: cpuList[0]?.model ?? 'unknown',
    cpuCount: cpuList.length,
    totalMemoryBytes: totalmem(),
    hostname: hostname(),
    user,
    packages: Object.fromEntries(TRACKED_PACKAGES.map((name) => [name, packageVersion(name)])),
  });
}
