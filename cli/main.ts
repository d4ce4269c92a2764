import { Command, InvalidArgumentError, Option } from 'commander';
import { ApplicationFailure } from '@temporalio/client';
import { TempestInputError } from '../core/errors';
import { packageVersionOfTempest } from '../core/package-root';
import { redactText } from '../core/redact';
import { SpecError } from '../spec';
import { DEFAULT_TASK_QUEUE } from '../workers/benchmark-worker';
import { CODEC_TOKEN_ENV, codecServerCommand } from './commands/codec-server';
import { compareCommand } from './commands/compare';
import { metaCommand } from './commands/meta';
import { powerCommand } from './commands/power';
import { servingCommand } from './commands/serving';
import { inspectCommand } from './commands/inspect';
import { privacyCommand } from './commands/privacy';
import { gateCommand } from './commands/gate';
import { keygenCommand } from './commands/keygen';
import { modulesCommand } from './commands/modules';
import { replayCommand } from './commands/replay';
import { exportCommand, signCommand } from './commands/sign';
import { verifyCommand } from './commands/verify';
import { specDiffCommand, specMigrateCommand, specValidateCommand } from './commands/spec';
import { runCommand } from './commands/run';
import { API_TOKEN_ENV, DEFAULT_API_PORT, serveCommand } from './commands/serve';
import {
  scheduleCreateCommand,
  scheduleDeleteCommand,
  scheduleDescribeCommand,
  scheduleListCommand,
} from './commands/schedule';
import { statusCommand } from './commands/status';
import { workerCommand } from './commands/worker';
import { payloadKeyFileOption } from './payload-keys';

/** Exit codes: 0 ok, 1 failure, 2 bad input (spec, model, data), 3 run cancelled. */
const EXIT_BAD_INPUT = 2;

function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('expected a positive integer');
  return parsed;
}

/**
 * Bad input reaches the CLI as an activity's non-retryable failure: directly from the local
 * executor, or as the cause of a failed workflow from the Temporal one.
 */
function inputFailureOf(error: unknown): ApplicationFailure | undefined {
  let cause: unknown = error;
  while (cause instanceof Error) {
    if (cause instanceof ApplicationFailure && cause.nonRetryable) return cause;
    cause = cause.cause;
  }
  return undefined;
}

/** Every error the CLI prints goes through redactText: messages can quote URLs, env or headers. */
function printError(message: string): void {
  console.error(redactText(message));
}

async function exitWith(work: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await work();
  } catch (error) {
    if (error instanceof SpecError || error instanceof TempestInputError) {
      printError(`tempest: ${error.message}`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    const inputFailure = inputFailureOf(error);
    if (inputFailure) {
      printError(`tempest: ${inputFailure.type ?? 'bad input'}: ${inputFailure.message}`);
      process.exitCode = EXIT_BAD_INPUT;
      return;
    }
    printError(`tempest: ${error instanceof Error ? error.message : String(error)}`);
    if (process.env.TEMPEST_DEBUG)
      printError(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exitCode = 1;
  }
}

function port(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65535) {
    throw new InvalidArgumentError('expected a port number, 0-65535');
  }
  return parsed;
}

/**
 * --address, --namespace and the TLS / API-key flags, declared once for every command that talks
 * to Temporal. No commander defaults or .env(): client/temporal-connection.ts applies the
 * `temporal` CLI's variables (TEMPORAL_ADDRESS, TEMPORAL_TLS_*, ...) itself, so a variable never
 * counts as a flag given (e.g. in `worker --embedded`'s conflict with --address).
 */
function addTemporalOptions(command: Command, addressDescription: string): Command {
  return command
    .option('--address <host:port>', `${addressDescription} (env: TEMPORAL_ADDRESS)`)
    .option('--namespace <ns>', 'Temporal namespace (default: $TEMPORAL_NAMESPACE, else "default")')
    .option(
      '--tls',
      'connect with TLS (implied by the options below and by an API key; env: TEMPORAL_TLS=true|false)',
    )
    .option(
      '--tls-cert <file>',
      'client certificate, PEM, for mTLS (env: TEMPORAL_TLS_CLIENT_CERT_PATH or TEMPORAL_TLS_CERT)',
    )
    .option(
      '--tls-key <file>',
      "the client certificate's private key, PEM (env: TEMPORAL_TLS_CLIENT_KEY_PATH or TEMPORAL_TLS_KEY)",
    )
    .option(
      '--tls-ca <file>',
      "CA certificate, PEM, that signed the server's certificate, for a private CA " +
        '(default: system CAs; env: TEMPORAL_TLS_SERVER_CA_CERT_PATH or TEMPORAL_TLS_CA)',
    )
    .option(
      '--tls-server-name <name>',
      "name to check the server's certificate against (default: the --address host; env: TEMPORAL_TLS_SERVER_NAME)",
    )
    .option(
      '--api-key-file <file>',
      'file holding a Temporal Cloud API key, sent as a bearer token; implies --tls (env: TEMPORAL_API_KEY, the key itself)',
    );
}
const taskQueueOption = () =>
  new Option('--task-queue <name>', 'Temporal task queue').default(DEFAULT_TASK_QUEUE);
const artifactsOption = () =>
  new Option(
    '--artifacts <location>',
    'artifact store: a folder, or s3://bucket/prefix shared by a team (endpoint and credentials from the ' +
      'AWS environment) (default: $TEMPEST_HOME/artifacts, else ./.tempest/artifacts)',
  );

export function buildProgram(): Command {
  const program = new Command('tempest')
    .description('Reproducible, auditable robustness benchmarks of ONNX models as durable Temporal workflows')
    .version(packageVersionOfTempest());

  const run = program.command('run');
  addTemporalOptions(run, 'an existing Temporal cluster; its workers run the cells');
  run
    .description('run a benchmark spec (embedded Temporal dev server + in-process worker unless --address)')
    .argument('<spec>', 'benchmark spec, YAML or JSON')
    .option(
      '--out <dir>',
      'folder for results.json, report.md, provenance.json, history.json (default: tempest-results/<name>)',
    )
    .addOption(taskQueueOption())
    .addOption(
      new Option('--executor <kind>', 'temporal (durable) or local (in-process, for debugging and baselines)')
        .choices(['temporal', 'local'])
        .default('temporal'),
    )
    .addOption(artifactsOption())
    .option('--worker', 'with --address: also run a worker in this process', false)
    .option(
      '--sign-key <file>',
      'sign the run folder (SHA256SUMS) with this ed25519 PEM key (default: $TEMPEST_SIGNING_KEY)',
    )
    .option(
      '--max-concurrent-cells <n>',
      "cells this process evaluates at once (default: the spec's concurrency, at most one per CPU core)",
      positiveInt,
    )
    .addOption(payloadKeyFileOption())
    .action((spec: string, options: Parameters<typeof runCommand>[1]) =>
      exitWith(() => runCommand(spec, options)),
    );

  const worker = program.command('worker');
  addTemporalOptions(worker, 'Temporal frontend (default: 127.0.0.1:7233)');
  worker
    .description('run a standalone worker for a Temporal cluster')
    .addOption(taskQueueOption())
    .addOption(artifactsOption())
    .addOption(
      new Option(
        '--embedded',
        'use the embedded dev server of `tempest run` (state folder) instead of --address, and keep it up',
      )
        .default(false)
        .conflicts('address'),
    )
    .option('--max-concurrent-cells <n>', 'cells evaluated at once', positiveInt, 2)
    .option(
      '--activities-only',
      "poll for cell batches only, no workflows: a worker for a spec's execution.attackTaskQueue",
      false,
    )
    .addOption(payloadKeyFileOption())
    .action((options: Parameters<typeof workerCommand>[0]) => exitWith(() => workerCommand(options)));

  addScheduleCommands(program);

  const status = program.command('status');
  addTemporalOptions(status, 'an existing Temporal cluster (default: the embedded dev server)');
  status
    .description('show a run (workflow id) or list recent runs')
    .argument('[run]', 'workflow id printed by `tempest run`')
    .addOption(payloadKeyFileOption())
    .action((run: string | undefined, options: Parameters<typeof statusCommand>[1]) =>
      exitWith(() => statusCommand(run, options)),
    );

  const serve = program.command('serve');
  addTemporalOptions(serve, 'an existing Temporal cluster (default: the embedded dev server)');
  serve
    .description(
      'HTTP API on 127.0.0.1: start benchmarks, follow them, fetch results, report and provenance (OpenAPI at /openapi.json)',
    )
    .option('--port <n>', 'port (0: any free port)', port, DEFAULT_API_PORT)
    .addOption(taskQueueOption())
    .addOption(artifactsOption())
    .option('--worker', 'with --address: also run a worker in this process', false)
    .option('--token-file <file>', `bearer token clients must send (default: $${API_TOKEN_ENV})`)
    .option('--specs-dir <dir>', 'folder relative paths in submitted specs are resolved against (default: .)')
    .option('--out-dir <dir>', 'run folders are written to DIR/<runId> (default: tempest-results/api)')
    .option('--max-body-bytes <n>', 'largest spec accepted, in bytes (default: 1 MiB)', positiveInt)
    .option('--max-concurrent-cells <n>', 'cells the in-process worker evaluates at once', positiveInt)
    .addOption(payloadKeyFileOption())
    .action((options: Parameters<typeof serveCommand>[0]) => exitWith(() => serveCommand(options)));

  program
    .command('replay')
    .description(
      'replay exported event histories against the current workflow code (exit 1 on nondeterminism)',
    )
    .argument('<paths...>', 'history JSON files, or run folders holding history.json')
    .addOption(payloadKeyFileOption())
    .action((paths: string[], options: Parameters<typeof replayCommand>[1]) =>
      exitWith(() => replayCommand(paths, options)),
    );

  program
    .command('keygen')
    .description('write a fresh payload keyring (AES-256 key, file mode 600), or add a key to one')
    .option('--out <file>', 'keyring file to create (default: print to stdout)')
    .option('--rotate', 'add a new current key to the existing --out keyring, keeping the old keys', false)
    .action((options: Parameters<typeof keygenCommand>[0]) => exitWith(() => keygenCommand(options)));

  program
    .command('codec-server')
    .description('serve POST /encode and /decode on 127.0.0.1 for the Temporal Web UI and CLI')
    .option('--port <n>', 'port (0: any free port)', port, 8888)
    .option(
      '--origin <url>',
      'Web UI origin allowed by CORS; repeatable (default: http://localhost:8233 and http://127.0.0.1:8233)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--token-file <file>', `bearer token clients must send (default: $${CODEC_TOKEN_ENV})`)
    .addOption(payloadKeyFileOption())
    .action((options: Parameters<typeof codecServerCommand>[0]) =>
      exitWith(() => codecServerCommand(options)),
    );

  program
    .command('compare')
    .description('paired, corrected comparisons of two runs or two models (RUN:MODEL) on the same samples')
    .argument('<runA>', 'run output folder or results.json, optionally :MODEL')
    .argument('<runB>', 'run output folder or results.json, optionally :MODEL')
    .addOption(artifactsOption())
    .option('--level <p>', 'confidence level', Number)
    .option('--alpha <p>', 'significance level after correction', Number)
    .addOption(new Option('--correction <method>', 'multiple-comparison correction').choices(['holm', 'bh']))
    .option('--min-effect <points>', 'smallest relevant accuracy difference (e.g. 0.01)', Number)
    .option('--markdown <file>', 'also write the comparison as Markdown')
    .option('--bootstrap <resamples>', 'paired bootstrap resamples (default 1000)', Number)
    .option('--no-bootstrap', 'skip the paired bootstrap of accuracy and ECE differences')
    .action((runA: string, runB: string, options: Parameters<typeof compareCommand>[2]) =>
      exitWith(() => compareCommand(runA, runB, options)),
    );

  const spec = program.command('spec').description('validate, migrate and compare benchmark specs');
  spec
    .command('validate')
    .description('check specs fully (schema, modules, parameters) without running anything')
    .argument('<files...>', 'spec files')
    .action((files: string[]) => exitWith(() => specValidateCommand(files)));
  spec
    .command('migrate')
    .description('rewrite a spec at the current apiVersion, keeping comments and layout (stdout by default)')
    .argument('<file>', 'spec file')
    .option('--out <file>', 'write the migrated spec here')
    .option('--in-place', 'overwrite the file', false)
    .action((file: string, options: Parameters<typeof specMigrateCommand>[1]) =>
      exitWith(() => specMigrateCommand(file, options)),
    );
  spec
    .command('diff')
    .description(
      'differences between two specs by meaning (defaults filled in, versions migrated); exit 1 if any',
    )
    .argument('<a>', 'spec file')
    .argument('<b>', 'spec file')
    .action((a: string, b: string) => exitWith(() => specDiffCommand(a, b)));

  program
    .command('verify')
    .description(
      'audit a run folder or bundle: checksums, signature, artifacts, Merkle root, re-execution, replay',
    )
    .argument('<run>', 'run output folder or exported bundle')
    .addOption(artifactsOption())
    .option('--reexecute <cells>', 'cells to re-execute from scratch (a seeded sample; 0 to skip)', Number, 3)
    .option('--seed <n>', 'seed of the re-execution sample', Number, 0)
    .option('--public-key <file>', "the signer's PEM public key: require a signature by this key")
    .option('--no-replay', 'do not replay history.json')
    .addOption(payloadKeyFileOption())
    .action((run: string, options: Parameters<typeof verifyCommand>[1]) =>
      exitWith(() => verifyCommand(run, options)),
    );

  program
    .command('sign')
    .description("sign a run folder's SHA256SUMS with an ed25519 key (or create a key pair with --new-key)")
    .argument('[run]', 'run output folder')
    .option('--key <file>', 'PEM private key (default: $TEMPEST_SIGNING_KEY)')
    .option('--new-key <file>', 'create a key pair: FILE (private) and FILE.pub')
    .action((run: string | undefined, options: Parameters<typeof signCommand>[1]) =>
      exitWith(() => signCommand(run, options)),
    );

  program
    .command('export')
    .description(
      'write a publishable bundle of a run: its files, spec and every artifact, verifiable anywhere',
    )
    .argument('<run>', 'run output folder')
    .requiredOption('--out <dir>', 'bundle folder')
    .addOption(artifactsOption())
    .action((run: string, options: Parameters<typeof exportCommand>[1]) =>
      exitWith(() => exportCommand(run, options)),
    );

  program
    .command('inspect')
    .description(
      'what Tempest sees in an ONNX model: inputs, outputs, ops, the input and score output it uses, whether it loads and has an input gradient, and the spec lines to write',
    )
    .argument('<model>', 'an .onnx file (torch.onnx, skl2onnx, onnxmltools, tf2onnx, ...)')
    .option('--input <name>', 'the input to feed (as models[i].input)')
    .option('--output <name>', 'the output to read as scores (as models[i].output)')
    .addOption(
      new Option('--output-kind <kind>', 'what the scores are (as models[i].outputKind)').choices([
        'logits',
        'probabilities',
        'log-probabilities',
      ]),
    )
    .option('--json', 'print the findings as JSON')
    .action(
      (
        model: string,
        options: {
          input?: string;
          output?: string;
          outputKind?: 'logits' | 'probabilities' | 'log-probabilities';
          json?: boolean;
        },
      ) => exitWith(() => inspectCommand(model, options)),
    );

  program
    .command('privacy')
    .description('membership-inference check: loss-threshold attack on training vs held-out MNIST digits')
    .argument('<model>', 'ONNX classifier trained on the builtin mnist train split (mnist-split/v1)')
    .option('--samples <n>', 'samples from each split', positiveInt, 1000)
    .action((model: string, options: { samples: number }) => exitWith(() => privacyCommand(model, options)));

  program
    .command('serving')
    .description(
      'deployment realism: real inference times per batch size, simulated arrivals, latency percentiles, a p99 gate',
    )
    .argument('<model>', 'ONNX classifier taking MNIST-shaped inputs')
    .option('--rate <r>', 'mean arrival rate, requests per second', Number, 500)
    .option('--batch-sizes <list>', 'maximum batch sizes of dynamic batching', '1,8,32')
    .option('--concurrency <list>', 'model instances serving the queue', '1,2')
    .addOption(
      new Option('--arrivals <kind>', 'arrival process').choices(['poisson', 'bursty']).default('poisson'),
    )
    .option('--burst <n>', 'requests per burst (bursty arrivals)', positiveInt, 16)
    .option('--requests <n>', 'simulated requests', positiveInt, 20_000)
    .option('--p99-budget <ms>', 'exit 1 unless some configuration keeps p99 latency within this', Number)
    .option('--seed <n>', 'seed of the simulated arrivals', Number, 0)
    .option('--threads <n>', 'ORT intra-op threads per instance', positiveInt, 1)
    .action((model: string, options: Parameters<typeof servingCommand>[1]) =>
      exitWith(() => servingCommand(model, options)),
    );

  program
    .command('power')
    .description(
      'plan a benchmark: samples needed to detect an accuracy difference, or the power of a sample count',
    )
    .requiredOption('--accuracy <p>', 'expected accuracy of the reference model or condition', Number)
    .requiredOption('--min-effect <d>', 'smallest accuracy difference worth detecting (e.g. 0.02)', Number)
    .option('--alpha <p>', 'two-sided significance level (default 0.05)', Number)
    .option('--power <p>', 'target power (default 0.8)', Number)
    .option(
      '--discordance <q>',
      'expected share of samples two models disagree on (for the paired design)',
      Number,
    )
    .option('--samples <n>', 'also report the power at this many samples', Number)
    .action((options: Parameters<typeof powerCommand>[0]) => exitWith(async () => powerCommand(options)));

  program
    .command('meta')
    .description('pool the comparisons several runs share with a random-effects (DerSimonian-Laird) model')
    .argument('<runs...>', 'two or more run output folders or results.json, optionally :MODEL')
    .option('--level <p>', 'confidence level', Number)
    .addOption(
      new Option('--kind <kind>', 'only this kind of comparison').choices([
        'condition-vs-clean',
        'model-vs-model',
      ]),
    )
    .option('--markdown <file>', 'also write the table as Markdown')
    .option('--json <file>', 'also write the pooled effects as JSON')
    .action((runs: string[], options: Parameters<typeof metaCommand>[1]) =>
      exitWith(() => metaCommand(runs, options)),
    );

  program
    .command('gate')
    .description('check a run against a policy (thresholds, CI bounds, regressions); exit 1 when it fails')
    .argument('<run>', 'run output folder or results.json')
    .requiredOption('--policy <file>', 'gate policy (YAML or JSON, apiVersion tempest.gate/v1)')
    .option('--summary <file>', 'write the Markdown summary here (for a CI comment)')
    .addOption(artifactsOption())
    .action((run: string, options: Parameters<typeof gateCommand>[1]) =>
      exitWith(() => gateCommand(run, options)),
    );

  program
    .command('modules')
    .description('list the perturbation modules, their versions and parameters per severity')
    .option('--spec <file>', "also load the spec's user modules")
    .option('--markdown', 'print a Markdown table', false)
    .action((options: { spec?: string; markdown: boolean }) => exitWith(() => modulesCommand(options)));

  return program;
}

function addScheduleCommands(program: Command): void {
  const withTemporal = (command: Command) =>
    addTemporalOptions(
      command,
      'an existing Temporal cluster (default: the embedded dev server of `tempest run`)',
    );
  const schedule = program
    .command('schedule')
    .description('run a benchmark spec periodically with Temporal Schedules (workers execute the runs)');
  withTemporal(schedule.command('create'))
    .description('create a schedule that starts the benchmark workflow with a validated spec')
    .argument('<name>', 'schedule id: letters, digits, ".", "_", "-"')
    .requiredOption('--spec <file>', 'benchmark spec, YAML or JSON (validated now, like `tempest run`)')
    .option('--every <duration>', 'interval, e.g. 30s, 15m, 6h, 1d')
    .option('--cron <expr>', 'cron expression (UTC), e.g. "0 3 * * *"')
    .addOption(taskQueueOption())
    .addOption(
      new Option('--overlap <policy>', 'when a run is still going at the next trigger')
        .choices(['skip', 'buffer-one', 'allow-all'])
        .default('skip'),
    )
    .option('--pause', 'create the schedule paused', false)
    .addOption(payloadKeyFileOption())
    .action((name: string, options: Parameters<typeof scheduleCreateCommand>[1]) =>
      exitWith(() => scheduleCreateCommand(name, options)),
    );
  withTemporal(schedule.command('list'))
    .description('list the schedules that start benchmark workflows')
    .action((options: Parameters<typeof scheduleListCommand>[0]) =>
      exitWith(() => scheduleListCommand(options)),
    );
  withTemporal(schedule.command('describe'))
    .description("a schedule's timing, policy, next runs and recent runs")
    .argument('<name>', 'schedule id')
    .action((name: string, options: Parameters<typeof scheduleDescribeCommand>[1]) =>
      exitWith(() => scheduleDescribeCommand(name, options)),
    );
  withTemporal(schedule.command('delete'))
    .description('delete a schedule (runs it started are not affected)')
    .argument('<name>', 'schedule id')
    .action((name: string, options: Parameters<typeof scheduleDeleteCommand>[1]) =>
      exitWith(() => scheduleDeleteCommand(name, options)),
    );
}

/**
 * grpc-js sends the host of --address as the TLS server name even when it is an IP address, and
 * Node then warns (DEP0123) on every TLS connection to an IP: noise the user can do nothing about
 * (the certificate is still checked against the IP). Every other warning is printed as before.
 */
function silenceIpServerNameWarning(): void {
  const emitWarning = process.emitWarning.bind(process);
  // emitWarning(warning, type, code) or emitWarning(warning, { type, code }).
  const forward = emitWarning as (...args: unknown[]) => void;
  process.emitWarning = (warning: string | Error, ...rest: unknown[]) => {
    const options = rest[0];
    const code =
      typeof options === 'object' && options !== null ? (options as { code?: unknown }).code : rest[1];
    if (code === 'DEP0123') return;
    forward(warning, ...rest);
  };
}

export function main(argv: readonly string[] = process.argv): void {
  silenceIpServerNameWarning();
  buildProgram()
    .parseAsync(argv)
    .catch((error: unknown) => {
      printError(`tempest: ${String(error)}`);
      process.exitCode = 1;
    });
}

if (require.main === module) main();
