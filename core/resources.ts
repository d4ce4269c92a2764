import { createOnnxModelOracle, type OnnxModelOracle } from './attack/gradient/oracle';
import { decodeNpy } from './data/npy';
import { profileTabular, type DatasetProfile } from './data/profile';
import { hashOf } from './hash';
import { BUILTIN_CATALOG, catalogOfPlan, type ModuleCatalog } from './perturb/catalog';
import { ModelRunner, type LoadedModel, type RunnerSettings } from './model/runner';
import { scoreKindOf, type BenchmarkPlan } from './plan';
import { BoundedCache, getJson } from './store/json';
import type { ArtifactStore } from './store/types';
import { makeTensor, type LabeledData } from './tensor/tensor';

/**
 * What a worker loads from the artifact store to evaluate cells, kept warm across cells: plans,
 * datasets, and one ORT runner (with its session cache) per thread setting.
 */
export class BenchmarkResources {
  private readonly runners = new Map<string, ModelRunner>();
  private readonly plans = new BoundedCache<BenchmarkPlan>(8);
  private readonly datasets = new BoundedCache<LabeledData>(4);
  private readonly profiles = new Map<string, DatasetProfile>();
  private readonly catalogs = new BoundedCache<ModuleCatalog>(8);
  private readonly oracles = new Map<string, Promise<OnnxModelOracle>>();

  constructor(readonly store: ArtifactStore) {}

  runnerFor(settings: RunnerSettings): ModelRunner {
    const id = `${settings.intraOpThreads}/${settings.interOpThreads}`;
    let runner = this.runners.get(id);
    if (!runner) this.runners.set(id, (runner = new ModelRunner(settings)));
    return runner;
  }

  plan(sha256: string): Promise<BenchmarkPlan> {
    return this.plans.get(sha256, () => getJson<BenchmarkPlan>(this.store, sha256));
  }

  data(plan: BenchmarkPlan): Promise<LabeledData> {
    return this.datasets.get(plan.dataset.hash, async () => {
      const inputs = decodeNpy(await this.store.getBlob(plan.dataset.inputs.sha256));
      const labels = decodeNpy(await this.store.getBlob(plan.dataset.labels.sha256));
      return {
        inputs: makeTensor(inputs.shape, inputs.values as Float32Array),
        labels: labels.values as Int32Array,
      };
    });
  }

  /** The modules of a plan: built-ins, plus the plan's user modules loaded from the store. */
  catalog(plan: BenchmarkPlan): Promise<ModuleCatalog> {
    if (plan.userModules.length === 0) return Promise.resolve(BUILTIN_CATALOG);
    return this.catalogs.get(hashOf(plan.userModules), () => catalogOfPlan(plan.userModules, this.store));
  }

  /** Statistics of a plan's (tabular) dataset, computed on first use and kept. */
  profile(plan: BenchmarkPlan, data: LabeledData): DatasetProfile {
    let profile = this.profiles.get(plan.dataset.hash);
    if (!profile)
      this.profiles.set(plan.dataset.hash, (profile = profileTabular(data, plan.dataset.features)));
    return profile;
  }

  model(plan: BenchmarkPlan, modelSha256: string, label: string): Promise<LoadedModel> {
    return this.runnerFor(plan.threads).load(modelSha256, () => this.store.getBlob(modelSha256), label);
  }

  /**
   * A model as attacks query it: logits, and loss gradients from its ONNX gradient graph (built
   * once per model and thread setting, sessions kept like the runner's).
   */
  attackOracle(plan: BenchmarkPlan, modelSha256: string): Promise<OnnxModelOracle> {
    const id = `${modelSha256}/${plan.threads.intraOpThreads}/${plan.threads.interOpThreads}`;
    let oracle = this.oracles.get(id);
    if (!oracle) {
      oracle = (async () =>
        createOnnxModelOracle(await this.store.getBlob(modelSha256), {
          ...plan.threads,
          scores: scoreKindOf(plan, modelSha256),
        }))();
      this.oracles.set(id, oracle);
      oracle.catch(() => this.oracles.delete(id));
    }
    return oracle;
  }

  /** Release every ORT session (one-off users such as `tempest verify`; workers keep theirs). */
  async close(): Promise<void> {
    await Promise.all([...this.runners.values()].map((runner) => runner.close()));
    this.runners.clear();
    const oracles = await Promise.allSettled(this.oracles.values());
    this.oracles.clear();
    for (const oracle of oracles) if (oracle.status === 'fulfilled') await oracle.value.release();
  }
}
