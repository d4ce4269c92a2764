import { LocalArtifactStore } from '../core/store/local';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killSpawnedTempests, runTempest, spawnTempest, tempDir } from './helpers/cli';

import { useTestTemporal, waitFor, writeExampleSpec } from './helpers/temporal';

afterAll(killSpawnedTempests);

const QUICK = 'examples/mnist-quick.yaml';
const QUICK_CELLS = 14;
// 2 models x (clean + 5 severities x 2 seeds) over all 1,996 test digits: several seconds of work.
const SWEEP_22 = `name: interrupt
dataset: { source: builtin, name: mnist, split: test }
perturbations:
  - { module: gaussian_noise, severities: [1, 2, 3, 4, 5] }
seeds: [1, 2]
execution: { concurrency: 2, heartbeatTimeoutSeconds: 5 }
`;

describe('tempest run (embedded Temporal dev server + in-process worker)', () => {
  it('rejects an invalid spec with exit code 2, the field path, and starts nothing', async () => {
    const home = join(await tempDir('badspec'), 'home');
    const specDir = await tempDir('spec');
    const spec = join(specDir, 'bad.yaml');
    const text = (await readFile(QUICK, 'utf8')).replace('batchSize: 250', 'batchSize: -3');
    await writeFile(spec, text);
    const result = await runTempest(['run', spec], { TEMPEST_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/execution\.batchSize: .*>=\s*1/);
    // Nothing was started: no server state, no artifact store.
    expect(existsSync(home)).toBe(false);
  });

  it('fails a run whose model is missing with exit code 2, naming the field and the path', async () => {
    const home = await tempDir('missing-model');
    const spec = join(home, 'spec.yaml');
    await writeFile(
      spec,
      'apiVersion: tempest/v1\nname: missing\nmodels: [{ id: m, path: nowhere.onnx }]\n' +
        'dataset: { source: builtin, name: mnist, samples: 10 }\n',
    );
    const result = await runTempest(['run', spec], { TEMPEST_HOME: home });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      `ModelNotFound: models[0].path: cannot read model "m" at ${join(home, 'nowhere.onnx')}`,
    );
  });

  it('runs the quick example twice: equal results.json bytes, all cache hits the second time, replayable history', async () => {
    const home = await tempDir('home');
    const outA = join(home, 'A');
    const outB = join(home, 'B');

    const first = await runTempest(['run', QUICK, '--out', outA], { TEMPEST_HOME: home });
    expect(first.stderr + first.stdout).toContain('completed');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (${QUICK_CELLS} computed, 0 cache hits)`,
    );

    const second = await runTempest(['run', QUICK, '--out', outB], { TEMPEST_HOME: home });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(
      `completed: ${QUICK_CELLS}/${QUICK_CELLS} cells (0 computed, ${QUICK_CELLS} cache hits)`,
    );

    const resultsA = await readFile(join(outA, 'results.json'));
    expect(resultsA.equals(await readFile(join(outB, 'results.json')))).toBe(true);
    for (const name of [
      'report.md',
      'run.json',
      'provenance.json',
      'history.json',
      'SHA256SUMS',
      'lineage.svg',
    ]) {
      expect(existsSync(join(outA, name))).toBe(true);
    }

    const results = JSON.parse(resultsA.toString()) as {
      cells: { model: string; condition: string; metrics: { accuracy: number } }[];
    };
    expect(results.cells).toHaveLength(QUICK_CELLS);
    const accuracyOf = (model: string, condition: string) =>
      results.cells.filter((cell) => cell.model === model && cell.condition === condition)[0].metrics
        .accuracy;
    // Real models on real digits: clean accuracy is high, and heavy noise costs the MLP accuracy.
    expect(accuracyOf('cnn', 'clean')).toBeGreaterThan(0.95);
    expect(accuracyOf('mlp', 'gaussian_noise/s5')).toBeLessThan(accuracyOf('mlp', 'clean'));

    const provenance = JSON.parse(await readFile(join(outA, 'run.json'), 'utf8')) as {
      run: { workflowId: string; runId: string; executor: string };
      models: { sha256: string }[];
      counts: { computed: number; reused: number };
    };
    expect(provenance.run.executor).toBe('temporal');
    // The exported history is kept in the artifact store too, by workflow and run id.
    const historyRef = await new LocalArtifactStore(join(home, 'artifacts')).getIndex(
      'histories',
      `${provenance.run.workflowId}.${provenance.run.runId}`,
    );
    expect(
      historyRef &&
        Buffer.from(await new LocalArtifactStore(join(home, 'artifacts')).getBlob(historyRef.sha256)),
    ).toEqual(await readFile(join(outA, 'history.json')));
    expect(provenance.counts).toMatchObject({ computed: QUICK_CELLS, reused: 0 });

    const replay = await runTempest(['replay', outA]);
    expect(replay.stdout).toContain('ok ');
    expect(replay.code).toBe(0);

    const status = await runTempest(['status', provenance.run.workflowId], { TEMPEST_HOME: home });
    expect(status.code).toBe(0);
    expect(status.stdout).toContain('status: COMPLETED');
  });

  it('--executor local gives the same results.json bytes as the Temporal executor', async () => {
    const temporalHome = await tempDir('home-temporal');
    const localHome = await tempDir('home-local');
    const temporal = await runTempest(['run', QUICK, '--out', join(temporalHome, 'out')], {
      TEMPEST_HOME: temporalHome,
    });
    const local = await runTempest(['run', QUICK, '--executor', 'local', '--out', join(localHome, 'out')], {
      TEMPEST_HOME: localHome,
    });
    expect([temporal.code, local.code]).toEqual([0, 0]);
    expect(local.stdout).toContain(`${QUICK_CELLS} computed, 0 cache hits`);
    const a = await readFile(join(temporalHome, 'out', 'results.json'));
    const b = await readFile(join(localHome, 'out', 'results.json'));
    expect(a.equals(b)).toBe(true);
  });
});

describe('tempest run: interruption and existing clusters', () => {
  const testTemporal = useTestTemporal();

  it('Ctrl-C keeps the workflow on the server; running the same spec again resumes and finishes it', async () => {
    const home = await tempDir('interrupt');
    const spec = await writeExampleSpec(SWEEP_22);
    const first = spawnTempest(['run', spec, '--out', join(home, 'first')], { TEMPEST_HOME: home });
    let stderr = '';
    first.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(async () => (/cells [1-9]\d*\/22/.test(stderr) ? true : undefined), 'first finished cells');
    first.kill('SIGINT');
    const [code] = (await once(first, 'exit')) as [number | null];
    expect(code).toBe(130);
    expect(stderr).toMatch(/interrupted\. Workflow tempest-interrupt-\w+ is kept on the server/);

    const second = await runTempest(['run', spec, '--out', join(home, 'second')], { TEMPEST_HOME: home });
    expect(second.code).toBe(0);
    const provenance = JSON.parse(await readFile(join(home, 'second', 'run.json'), 'utf8')) as {
      run: { workflowId: string };
      counts: { cells: number; computed: number; reused: number };
    };
    // The same workflow run finished: cells done before the interruption were not redone as cache hits.
    expect(stderr).toContain(provenance.run.workflowId);
    expect(provenance.counts).toMatchObject({ cells: 22, computed: 22, reused: 0 });
  });

  it('--address runs on an existing cluster whose standalone worker computes the cells', async () => {
    const temporal = testTemporal();
    const home = await tempDir('cluster');
    const artifacts = join(home, 'artifacts');
    const worker = spawnTempest(['worker', '--address', temporal.address, '--artifacts', artifacts]);
    try {
      const run = await runTempest(
        ['run', QUICK, '--address', temporal.address, '--artifacts', artifacts, '--out', join(home, 'out')],
        { TEMPEST_HOME: home },
      );
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`${QUICK_CELLS} computed, 0 cache hits`);
      const provenance = JSON.parse(await readFile(join(home, 'out', 'run.json'), 'utf8')) as {
        run: { workflowId: string };
        cells: { worker: string }[];
      };
      expect(new Set(provenance.cells.map((cell) => cell.worker))).toEqual(
        new Set([`${worker.pid}@${hostname()}`]),
      );
      // No embedded server was started for this run.
      expect(existsSync(join(home, 'temporal'))).toBe(false);
      const status = await runTempest(['status', provenance.run.workflowId, '--address', temporal.address]);
      expect(status.stdout).toContain('status: COMPLETED');
    } finally {
      worker.kill('SIGTERM');
      await once(worker, 'exit');
    }
  });
});
