import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { once } from 'node:events';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { afterAll, describe, expect, it } from 'vitest';
import { AesGcmPayloadCodec, keyringFromObject } from '../core/codec';
import { encryptedKeyIdsInHistoryJson } from '../core/codec/history-keys';
import { startCodecServer } from '../infra/codec-server';
import { connectOrStartDevServer, type DevServer } from '../infra/dev-server';
import { killSpawnedTempests, REPO_ROOT, runTempest, spawnTempest, tempDir } from './helpers/cli';
import { useTestTemporal } from './helpers/temporal';

afterAll(killSpawnedTempests);

const SPEC_NAME = 'confidential-audit-spec';
const MODEL_PATH = join(REPO_ROOT, 'examples', 'models', 'mnist-mlp.onnx');
const SECRET_DIR = 'confidential-model-folder';

/** A 2-cell benchmark whose spec text, model path, module and dataset names we then look for. */
async function writeSpec(): Promise<string> {
  const dir = await tempDir('secret-spec');
  const path = join(dir, 'spec.yaml');
  await writeFile(
    path,
    `apiVersion: tempest/v1
name: ${SPEC_NAME}
models: [{ id: mlp, path: ${MODEL_PATH} }]
dataset: { source: builtin, name: mnist, split: test, samples: 100 }
perturbations: [{ module: gaussian_noise, severities: [2] }]
seeds: [1]
`,
  );
  return path;
}

/**
 * The bytes to search in a history in proto JSON: the JSON itself, plus every payload's data and
 * metadata base64-decoded (proto JSON stores bytes as base64, which would hide plain text).
 */
function historyBytes(historyJson: string): Buffer {
  const decoded: Buffer[] = [Buffer.from(historyJson)];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    const { metadata, data } = node as { metadata?: unknown; data?: unknown };
    if (metadata && typeof metadata === 'object') {
      for (const value of Object.values(metadata)) {
        if (typeof value === 'string') decoded.push(Buffer.from(value, 'base64'));
      }
      if (typeof data === 'string') decoded.push(Buffer.from(data, 'base64'));
    }
    Object.values(node).forEach(walk);
  };
  walk(JSON.parse(historyJson));
  return Buffer.concat(decoded);
}

const CODEC_TOKEN = randomBytes(16).toString('hex');
/** Keys a developer may have exported must not turn the unencrypted cases into encrypted ones. */
const NO_KEYS = { TEMPEST_PAYLOAD_KEY: '', TEMPEST_PAYLOAD_KEYS: '' };

/** `temporal` CLI output (the binary the dev server runs), bounded in time. */
async function temporalCli(server: DevServer, args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(server.cli.path, args, {
    timeout: 30_000,
    maxBuffer: 64 << 20,
  });
  return stdout;
}

const foundIn = (bytes: Buffer, fragments: readonly string[]) =>
  fragments.filter((fragment) => bytes.includes(Buffer.from(fragment)));

interface ServerEvidence {
  /** Where each fragment was found: the history fetched by a client without the codec, the raw database files, history.json. */
  readonly found: Record<'fetchedHistory' | 'database' | 'exportedHistory', string[]>;
  /** What was looked for. */
  readonly fragments: readonly string[];
  readonly out: string;
  readonly workflowId: string;
}

/**
 * Run the spec through `tempest run` (Temporal executor) against a dev server this test starts in
 * TEMPEST_HOME, so the server outlives the CLI: then read the run's history with a plain client
 * (no codec: what anyone with server access sees), stop the server and read its SQLite files.
 */
async function runAndInspect(
  spec: string,
  env: Record<string, string>,
  whileServerRuns: (workflowId: string, home: string, server: DevServer) => Promise<void> = async () =>
    undefined,
): Promise<ServerEvidence> {
  const home = await tempDir('encryption-home');
  const server = await connectOrStartDevServer({ stateDir: join(home, 'temporal') });
  const out = join(home, 'out');
  let fetched: string;
  let workflowId: string;
  try {
    const run = await runTempest(['run', spec, '--out', out], { TEMPEST_HOME: home, ...env });
    expect(run.stderr).not.toContain('tempest:');
    expect(run.code).toBe(0);
    const provenance = JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      run: { workflowId: string; runId: string };
      models: { sha256: string }[];
    };
    workflowId = provenance.run.workflowId;
    const connection = await Connection.connect({ address: server.address });
    try {
      const plainClient = new Client({ connection, namespace: 'default' });
      fetched = historyToJSON(
        await plainClient.workflow.getHandle(workflowId, provenance.run.runId).fetchHistory(),
      );
    } finally {
      await connection.close();
    }
    await whileServerRuns(workflowId, home, server);
  } finally {
    await server.stop();
  }
  const dbDir = join(home, 'temporal');
  const databaseFiles = (await readdir(dbDir)).filter((name) => name.startsWith('temporal.db'));
  expect(databaseFiles).toContain('temporal.db');
  const database = Buffer.concat(await Promise.all(databaseFiles.map((name) => readFile(join(dbDir, name)))));
  const exported = historyBytes(await readFile(join(out, 'history.json'), 'utf8'));
  // Fragments of the spec (name, model path, module, dataset, folder) and of the data flowing
  // through the run (the results.json content hash is in activity results and the workflow result).
  const resultsSha256 = (
    JSON.parse(await readFile(join(out, 'run.json'), 'utf8')) as {
      artifacts?: { results?: { sha256: string } };
    }
  ).artifacts?.results?.sha256;
  const fragments = [
    SPEC_NAME,
    MODEL_PATH,
    'gaussian_noise',
    'mnist',
    join(spec, '..'),
    resultsSha256,
  ].filter((fragment): fragment is string => typeof fragment === 'string');
  return {
    found: {
      fetchedHistory: foundIn(historyBytes(fetched), fragments),
      database: foundIn(database, fragments),
      exportedHistory: foundIn(exported, fragments),
    },
    fragments,
    out,
    workflowId,
  };
}

describe('payload encryption with a real dev server', () => {
  const testTemporal = useTestTemporal();
  const key = randomBytes(32).toString('base64');

  it('control: without a key the spec and data fragments are in the server history and database', async () => {
    const evidence = await runAndInspect(await writeSpec(), NO_KEYS);
    // Every fragment is findable, so the empty findings of the encrypted run below mean something.
    expect(evidence.found.fetchedHistory).toEqual(evidence.fragments);
    expect(evidence.found.exportedHistory).toEqual(evidence.fragments);
    expect(evidence.found.database).toEqual(evidence.fragments);
    expect(evidence.workflowId).toContain(SPEC_NAME);
  });

  it('with TEMPEST_PAYLOAD_KEY no fragment reaches the server; the run replays only with the key', async () => {
    const spec = await writeSpec();
    const evidence = await runAndInspect(
      spec,
      { TEMPEST_PAYLOAD_KEY: key },
      async (workflowId, home, server) => {
        // The Temporal CLI binary sees ciphertext, and plaintext only through the codec server with the token.
        const show = (...extra: string[]) =>
          temporalCli(server, [
            'workflow',
            'show',
            '-w',
            workflowId,
            '--address',
            server.address,
            '--output',
            'json',
            ...extra,
          ]);
        expect(foundIn(historyBytes(await show()), [SPEC_NAME, MODEL_PATH, 'gaussian_noise'])).toEqual([]);
        const codecServer = await startCodecServer({
          codec: new AesGcmPayloadCodec(
            keyringFromObject({ current: 'default', keys: { default: key } }, 'test'),
          ),
          token: CODEC_TOKEN,
          origins: [],
        });
        try {
          const decoded = await show(
            '--codec-endpoint',
            codecServer.url,
            '--codec-auth',
            `Bearer ${CODEC_TOKEN}`,
          );
          expect(foundIn(historyBytes(decoded), [SPEC_NAME, MODEL_PATH, 'gaussian_noise'])).toEqual([
            SPEC_NAME,
            MODEL_PATH,
            'gaussian_noise',
          ]);
        } finally {
          await codecServer.close();
        }
        // The client side: `tempest status` decodes the outcome with the key, and says what is missing without it.
        const status = await runTempest(['status', workflowId], {
          TEMPEST_HOME: home,
          TEMPEST_PAYLOAD_KEY: key,
        });
        expect(status.stdout).toContain('outcome: completed, 2 cells');
        const blind = await runTempest(['status', workflowId], { TEMPEST_HOME: home, ...NO_KEYS });
        expect(blind.code).toBe(2);
        expect(blind.stderr).toContain('payloads are encrypted; a payload key is needed');
      },
    );
    expect(evidence.found).toEqual({ fetchedHistory: [], database: [], exportedHistory: [] });
    // The workflow id is stored in clear, so an encrypted run's id leaves the spec name out.
    expect(evidence.workflowId).toMatch(/^tempest-[0-9a-f]{12}$/);
    // The key itself is nowhere in the run's outputs.
    for (const name of ['run.json', 'provenance.json', 'report.md', 'history.json', 'results.json']) {
      expect(await readFile(join(evidence.out, name), 'utf8')).not.toContain(key);
    }

    const withKey = await runTempest(['replay', evidence.out], { TEMPEST_PAYLOAD_KEY: key });
    expect(withKey.stdout).toMatch(/^ok {6}.*history\.json$/m);
    expect(withKey.code).toBe(0);

    const withoutKey = await runTempest(['replay', evidence.out], NO_KEYS);
    expect(withoutKey.code).toBe(1);
    expect(withoutKey.stdout).toMatch(
      /FAILED .*history\.json: its payloads are encrypted \(key default\); a payload key is needed to replay it/,
    );

    const wrongKey = await runTempest(['replay', evidence.out], {
      TEMPEST_PAYLOAD_KEYS: JSON.stringify({
        current: 'other',
        keys: { other: randomBytes(32).toString('base64') },
      }),
    });
    expect(wrongKey.code).toBe(1);
    expect(wrongKey.stdout).toContain('payload was encrypted with key default; the keyring has other');
  });

  it('a standalone worker and `tempest run --address` share a keyring file written by `tempest keygen`', async () => {
    const temporal = testTemporal();
    const home = await tempDir('encryption-cluster');
    const keyFile = join(home, 'keys.json');
    const keygen = await runTempest(['keygen', '--out', keyFile]);
    expect(keygen.code).toBe(0);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    const { current } = JSON.parse(await readFile(keyFile, 'utf8')) as { current: string };
    const artifacts = join(home, 'artifacts');
    const keyArgs = ['--payload-key-file', keyFile];
    const worker = spawnTempest(
      ['worker', '--address', temporal.address, '--artifacts', artifacts, ...keyArgs],
      NO_KEYS,
    );
    try {
      const out = join(home, 'out');
      const run = await runTempest(
        [
          'run',
          await writeSpec(),
          '--address',
          temporal.address,
          '--artifacts',
          artifacts,
          '--out',
          out,
          ...keyArgs,
        ],
        { TEMPEST_HOME: home, ...NO_KEYS },
      );
      expect(run.code).toBe(0);
      const history = await readFile(join(out, 'history.json'), 'utf8');
      expect(encryptedKeyIdsInHistoryJson(JSON.parse(history))).toEqual(new Set([current]));
      expect(foundIn(historyBytes(history), [SPEC_NAME, MODEL_PATH, 'gaussian_noise'])).toEqual([]);
      const replay = await runTempest(['replay', out, ...keyArgs], NO_KEYS);
      expect(replay.code).toBe(0);
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  });

  it('failure messages are encrypted too, and the CLI still prints them in clear', async () => {
    const databaseMentions = async (env: Record<string, string>) => {
      const home = await tempDir('encryption-failure');
      const spec = join(home, 'spec.yaml');
      await writeFile(
        spec,
        `apiVersion: tempest/v1\nname: failing\nmodels: [{ id: m, path: ${SECRET_DIR}/nowhere.onnx }]\n` +
          'dataset: { source: builtin, name: mnist, samples: 10 }\n',
      );
      const run = await runTempest(['run', spec], { TEMPEST_HOME: home, ...env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        `ModelNotFound: models[0].path: cannot read model "m" at ${join(home, SECRET_DIR)}`,
      );
      const dbDir = join(home, 'temporal');
      const files = (await readdir(dbDir)).filter((name) => name.startsWith('temporal.db'));
      const database = Buffer.concat(await Promise.all(files.map((name) => readFile(join(dbDir, name)))));
      return database.includes(Buffer.from(SECRET_DIR));
    };
    expect(await databaseMentions(NO_KEYS)).toBe(true); // control: the activity's error message names the path
    expect(await databaseMentions({ TEMPEST_PAYLOAD_KEY: key })).toBe(false);
  });
});
