import { once } from 'node:events';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBenchmarkInput } from '../cli/spec-file';
import { runBenchmarkLocally } from '../client/local-run';
import { writeRunOutputs } from '../client/outputs';
import type { BenchmarkResults } from '../core/results';
import { getJson } from '../core/store/json';
import { LocalArtifactStore } from '../core/store/local';
import { REPO_ROOT, tempDir } from './helpers/cli';
import { writePerturbedModel } from './helpers/onnx';

const specText = (extra = '') => `apiVersion: tempest/v1
name: drift
models: [{ id: mlp, path: models/mlp.onnx }]
dataset: { source: builtin, name: mnist, split: test, samples: 1000 }
perturbations: [{ module: gaussian_noise, severities: [2] }]
seeds: [1]
${extra}`;

async function bodyOf(request: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of request) body += String(chunk);
  return body;
}

describe('baseline stability (drift)', () => {
  it('re-executes the baseline cells and alerts, with metric, shift and interval, when a model changed', async () => {
    const dir = await tempDir('drift');
    await mkdir(join(dir, 'models'));
    const model = join(dir, 'models', 'mlp.onnx');
    await copyFile(join(REPO_ROOT, 'examples', 'models', 'mnist-mlp.onnx'), model);
    const store = new LocalArtifactStore(join(dir, 'store'));

    await writeFile(join(dir, 'baseline.yaml'), specText());
    const baseline = await runBenchmarkLocally(await readBenchmarkInput(join(dir, 'baseline.yaml')), store);
    await writeRunOutputs(store, baseline, join(dir, 'baseline-out'));

    const posts: unknown[] = [];
    const server = createServer((request, response) => {
      void bodyOf(request).then((body) => {
        posts.push(JSON.parse(body));
        response.end('ok');
      });
    }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
    const driftSpec = specText(`drift:
  baseline: baseline-out
  alerts: { file: alerts/drift.jsonl, url: "${url}" }
`);
    await writeFile(join(dir, 'drift.yaml'), driftSpec);
    try {
      // Unchanged model: the cells are computed again (not served from the cache) and agree.
      const same = await runBenchmarkLocally(await readBenchmarkInput(join(dir, 'drift.yaml')), store);
      expect(same.cells.cached).toBe(0);
      expect((await getJson<BenchmarkResults>(store, same.results!.sha256)).drift!.alerts).toEqual([]);

      // The same model id with slightly changed weights (noise of half the output layer's SD).
      await writePerturbedModel(
        join(REPO_ROOT, 'examples', 'models', 'mnist-mlp.onnx'),
        model,
        'fc2.weight',
        0.5,
      );
      const drifted = await runBenchmarkLocally(await readBenchmarkInput(join(dir, 'drift.yaml')), store);
      const results = await getJson<BenchmarkResults>(store, drifted.results!.sha256);
      const alerts = results.drift!.alerts;
      expect(alerts.length).toBeGreaterThan(0);
      const clean = alerts.find((alert) => alert.condition === 'clean')!;
      expect(clean).toMatchObject({ kind: 'drift', metric: 'accuracy', model: 'mlp', seed: null });
      expect(clean.current).toBeLessThan(clean.baseline.lower);
      expect(clean.shift).toBeCloseTo(clean.current - clean.baseline.value, 12);
      expect(clean.message).toMatch(
        /accuracy of mlp on clean moved from 0\.\d{4} to 0\.\d{4} \(shift -0\.\d{4}\), outside the baseline's 95% interval \[0\.\d{4}, 0\.\d{4}\]/,
      );

      const report = new TextDecoder().decode(await store.getBlob(drifted.report!.sha256));
      expect(report).toContain('## Baseline stability (drift)');
      expect(report).toContain(clean.message);

      const lines = (await readFile(join(dir, 'alerts', 'drift.jsonl'), 'utf8')).trim().split('\n');
      expect(lines).toHaveLength(alerts.length);
      expect(JSON.parse(lines[0])).toMatchObject({ kind: 'drift', model: 'mlp' });
      expect(posts).toHaveLength(1);
      expect(posts[0]).toMatchObject({
        source: 'tempest',
        alerts: alerts.map((alert) => ({ condition: alert.condition })),
      });
    } finally {
      server.close();
    }
  }, 120_000);
});
