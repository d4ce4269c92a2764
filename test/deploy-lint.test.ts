import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from './helpers/cli';

/**
 * The deployment files (infra/deploy) cannot be run here (no Docker daemon, no cluster), so CI
 * checks them with the linters of infra/deploy/lint.sh, offline: hadolint, kubernetes-validate
 * (strict, bundled schemas), compose-check (compose-go, as `docker compose config`), yamllint.
 * Each check is also shown to fail on a deliberately broken copy.
 */

const DEPLOY = join(REPO_ROOT, 'infra', 'deploy');
const LINT = join(DEPLOY, 'lint.sh');

interface Result {
  readonly code: number;
  readonly output: string;
}

async function run(file: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, [...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

const lint = (check: string, ...files: string[]) => run('bash', [LINT, check, ...files]);

let scratch: string;

/** A copy of a deployment file with one edit, in a scratch folder. */
async function brokenCopy(relative: string, edit: (text: string) => string): Promise<string> {
  const original = await readFile(join(DEPLOY, relative), 'utf8');
  const changed = edit(original);
  expect(changed).not.toBe(original);
  const target = join(scratch, relative.replaceAll('/', '-'));
  await writeFile(target, changed);
  return target;
}

beforeAll(async () => {
  scratch = await tempDir('deploy-lint');
  // First use installs the pinned linters into .tempest/deploy-lint (PyPI, Go module proxy).
  const installed = await run('bash', [LINT, 'install']);
  expect(installed.code, installed.output).toBe(0);
}, 900_000);

describe('infra/deploy lint', () => {
  it('passes every check on the committed files', async () => {
    const result = await run('bash', [LINT]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('deploy-lint: all checks passed');
    for (const resource of [
      'deployment/tempest-worker',
      'poddisruptionbudget/tempest-worker',
      'horizontalpodautoscaler/tempest-worker',
      'configmap/tempest-worker',
      'secret/tempest-s3',
      'namespace/tempest',
    ]) {
      expect(result.output).toContain(`passed for resource ${resource}`);
    }
    expect(result.output).toMatch(/compose\.yaml: ok/);
    expect(result.output).toMatch(/compose\.yaml,\S*compose\.encryption\.yaml: ok/);
  });

  it('kubernetes-validate rejects a Deployment with a wrong field type', async () => {
    const file = await brokenCopy('k8s/worker-deployment.yaml', (text) =>
      text.replace('replicas: 3', 'replicas: three'),
    );
    const result = await lint('k8s', file);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("spec.replicas: 'three' is not of type 'integer'");
  });

  it('kubernetes-validate (strict) rejects an unknown field', async () => {
    const file = await brokenCopy('k8s/worker-deployment.yaml', (text) =>
      text.replace('readOnlyRootFilesystem: true', 'readOnlyRootFileSystem: true'),
    );
    const result = await lint('k8s', file);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("'readOnlyRootFileSystem' was unexpected");
  });

  it('compose-check rejects an unknown key and a dangling reference', async () => {
    const unknownKey = await brokenCopy('compose.yaml', (text) =>
      text.replace('    init: true\n', '    init: true\n    replicas: 4\n'),
    );
    const unknown = await lint('compose', unknownKey);
    expect(unknown.code).not.toBe(0);
    expect(unknown.output).toMatch(/services\.worker.*replicas/);

    const dangling = await brokenCopy('compose.yaml', (text) =>
      text.replace('      create-bucket:\n        condition', '      create-buckets:\n        condition'),
    );
    const reference = await lint('compose', dangling);
    expect(reference.code).not.toBe(0);
    expect(reference.output).toContain('depends on undefined service');
  });

  it('hadolint rejects an unpinned base image and an unpinned apt install', async () => {
    const file = await brokenCopy('Dockerfile.worker', (text) =>
      text
        .replace(
          'ARG NODE_IMAGE=node:20.19.5-bookworm-slim',
          'ARG NODE_IMAGE=node:20.19.5-bookworm-slim\nFROM node:latest AS base',
        )
        .replace('RUN groupadd', 'RUN apt-get update && apt-get install -y curl && groupadd'),
    );
    const result = await lint('dockerfile', file);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('DL3007'); // latest tag
    expect(result.output).toContain('DL3008'); // apt-get install without versions
  });

  it('yamllint rejects a duplicated key', async () => {
    const file = await brokenCopy('k8s/configmap.yaml', (text) =>
      text.replace(
        '  TEMPORAL_NAMESPACE: default\n',
        '  TEMPORAL_NAMESPACE: default\n  TEMPORAL_NAMESPACE: other\n',
      ),
    );
    const result = await lint('yaml', file);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain('key-duplicates');
  });
});

describe('worker image entrypoint', () => {
  const entrypoint = join(DEPLOY, 'worker-entrypoint.sh');
  const env = { TEMPEST_APP_DIR: REPO_ROOT, TEMPORAL_ADDRESS: '127.0.0.1:1' };

  it('runs `tempest worker` (the built CLI)', async () => {
    const result = await run('sh', [entrypoint, '--help'], env);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain('run a standalone worker for a Temporal cluster');
  });

  it('turns the environment into flags', async () => {
    // Both fail before any connection is tried, so no Temporal server is needed.
    const cells = await run('sh', [entrypoint], { ...env, TEMPEST_MAX_CONCURRENT_CELLS: '0' });
    expect(cells.code).not.toBe(0);
    expect(cells.output).toContain("option '--max-concurrent-cells <n>' argument '0' is invalid");

    const keyFile = join(scratch, 'no-such-keyring.json');
    const keys = await run('sh', [entrypoint], { ...env, TEMPEST_PAYLOAD_KEY_FILE: keyFile });
    expect(keys.code).not.toBe(0);
    // The flag reached the CLI: its error names the file (a path to a key is not itself a secret).
    expect(keys.output).toContain('cannot read payload key file');
    expect(keys.output).toContain(keyFile);
  });
});
