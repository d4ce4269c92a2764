import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { killSpawnedTempests, REPO_ROOT, runTempest } from './helpers/cli';

const EXAMPLES = join(REPO_ROOT, 'examples');

interface InspectReport {
  readonly outputs: readonly { readonly name: string; readonly type: string }[];
  readonly tempest: {
    readonly input: string;
    readonly output: string;
    readonly outputKind?: string;
    readonly adaptations: readonly string[];
  };
  readonly runtime: string;
  readonly gradient: string;
}

describe('tempest inspect MODEL.onnx (the CLI, real onnxruntime)', () => {
  afterAll(() => killSpawnedTempests());

  it('a skl2onnx ZipMap model: the probability tensor it reads, what it changes, no input gradient', async () => {
    const run = await runTempest(['inspect', join(EXAMPLES, 'tabular', 'logreg-zipmap.onnx'), '--json']);
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as InspectReport;
    expect(report.outputs.map((output) => output.type)).toEqual(['int64 [?]', 'seq(map(int64, float32 []))']);
    expect(report.tempest).toMatchObject({
      input: 'float_input',
      output: 'probabilities',
      outputKind: 'probabilities',
    });
    expect(report.tempest.adaptations.join('; ')).toMatch(/ZipMap removed/);
    expect(report.runtime).toBe('loads in onnxruntime; input dims [N, 6]; 3 classes');
    expect(report.gradient).toMatch(/^not applicable: .*LinearClassifier.*use a black-box attack/);
  });

  it('a torch.onnx mobilenet_v3_small: loads, has a gradient, and prints the spec lines to write', async () => {
    const path = join(EXAMPLES, 'images', 'mobilenet_v3_small-photo-crops.onnx');
    const run = await runTempest(['inspect', path]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Tempest feeds "image" and reads "logits" as scores');
    expect(run.stdout).toContain('8 classes');
    expect(run.stdout).toMatch(/input gradient: available/);
    expect(run.stdout).toMatch(
      /models:\n {2}- id: mobilenet_v3_small-photo-crops\n {4}path: .*\n {4}sha256: 1e5c8ee1/,
    );
  });

  it('a file that is not there, or not ONNX: an error naming the file, exit 2 (bad input)', async () => {
    const missing = await runTempest(['inspect', join(EXAMPLES, 'no-such-model.onnx')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*no-such-model\.onnx \(ENOENT\)/);
    const notOnnx = await runTempest(['inspect', join(EXAMPLES, 'mnist-quick.yaml'), '--json']);
    expect(notOnnx.code).toBe(2);
    const report = JSON.parse(notOnnx.stdout) as { tempest: { error?: string }; runtime: string };
    expect(report.tempest.error).toMatch(
      /^models\[i\]\.path: .*mnist-quick\.yaml is not a loadable ONNX model .*; export the model to \.onnx/,
    );
    expect(report.runtime).toMatch(/^not tried/);
  });
});
