import { readFile } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { mkdir, writeFile } from 'node:fs/promises';
import type { BenchmarkSpec } from '../../spec';
import { resolveDataPath } from '../data/dataset';
import { TempestInputError } from '../errors';
import { sha256Hex } from '../hash';
import { packageRoot } from '../package-root';
import { MEDIA_TYPES, type ArtifactRef, type ArtifactStore } from '../store/types';
import type { PerturbationModule } from './module';
import { BUILTIN_PERTURBATIONS } from './registry';

/** Where a user module's code came from; its identity joins the cell key, so edited code is recomputed. */
export type UserModuleSource =
  | { readonly kind: 'file'; readonly path: string; readonly sha256: string; readonly blob: ArtifactRef }
  | { readonly kind: 'package'; readonly name: string; readonly version: string };

export function originOf(source: UserModuleSource): string {
  return source.kind === 'file' ? `file:${source.sha256}` : `package:${source.name}@${source.version}`;
}

/** The modules a run can use: the built-ins plus the user modules its spec names. */
export class ModuleCatalog {
  private readonly byName = new Map<string, { module: PerturbationModule; origin?: string }>();

  constructor(
    userModules: readonly { module: PerturbationModule; source: UserModuleSource }[] = [],
    readonly userSources: readonly UserModuleSource[] = [],
  ) {
    for (const module of BUILTIN_PERTURBATIONS) this.byName.set(module.name, { module });
    for (const { module, source } of userModules) {
      if (this.byName.has(module.name)) {
        throw new TempestInputError(
          `user module "${module.name}" (${describe(source)}) has the name of a ${this.byName.get(module.name)!.origin ? 'user' : 'built-in'} module; rename it`,
          'DuplicateModule',
        );
      }
      this.byName.set(module.name, { module, origin: originOf(source) });
    }
  }

  list(): PerturbationModule[] {
    return [...this.byName.values()].map((entry) => entry.module);
  }

  /** Origin of a user module's code (undefined for built-ins, whose version says it all). */
  origin(name: string): string | undefined {
    return this.byName.get(name)?.origin;
  }

  /** The module named in a spec, checked against the spec's version pin. */
  find(name: string, pinnedVersion: string | undefined, where: string): PerturbationModule {
    const entry = this.byName.get(name);
    if (!entry) {
      throw new TempestInputError(
        `${where}: unknown perturbation module "${name}"; available: ${[...this.byName.keys()].join(', ')}`,
        'UnknownModule',
      );
    }
    const { module } = entry;
    if (pinnedVersion !== undefined && pinnedVersion !== module.version) {
      throw new TempestInputError(
        `${where}: the spec pins ${name}@${pinnedVersion} but this Tempest has ${name}@${module.version}; ` +
          'use a Tempest release with that version or update the pin (results will differ)',
        'ModuleVersionMismatch',
      );
    }
    return module;
  }
}

function describe(source: UserModuleSource): string {
  return source.kind === 'file' ? source.path : `package ${source.name}@${source.version}`;
}

/** Check that an export looks like a perturbation module; say exactly what is missing otherwise. */
function asModule(candidate: unknown, where: string): PerturbationModule {
  const value = candidate as Partial<PerturbationModule> | null;
  const problems: string[] = [];
  if (!value || typeof value !== 'object')
    throw new TempestInputError(`${where}: exports ${String(candidate)}, not a module`, 'BadModule');
  if (typeof value.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value.name))
    problems.push('name (letters, digits, . _ -)');
  if (typeof value.version !== 'string' || !/^\d+\.\d+\.\d+$/.test(value.version))
    problems.push('version (semantic, e.g. 1.0.0)');
  if (value.inputKind !== 'image' && value.inputKind !== 'tabular')
    problems.push("inputKind ('image' or 'tabular')");
  if (typeof value.stochastic !== 'boolean') problems.push('stochastic (boolean)');
  if (typeof (value.params as { safeParse?: unknown } | undefined)?.safeParse !== 'function')
    problems.push('params (a zod schema)');
  if (typeof value.apply !== 'function') problems.push('apply(batch, params, context)');
  if (value.severityParams !== undefined && typeof value.severityParams !== 'function')
    problems.push('severityParams(severity) when given');
  if (problems.length > 0) {
    throw new TempestInputError(
      `${where}: "${String(value.name)}" is not a perturbation module; missing or invalid: ${problems.join(', ')}`,
      'BadModule',
    );
  }
  return { description: '', reference: '', ...value } as PerturbationModule;
}

/** A module file or package may export one module (default or `module`) or a list (`modules`). */
function modulesOf(exported: Record<string, unknown>, where: string): PerturbationModule[] {
  const root =
    (exported.default as Record<string, unknown> | undefined)?.modules !== undefined
      ? (exported.default as Record<string, unknown>)
      : exported;
  const list = root.modules ?? root.module ?? root.default;
  const candidates = Array.isArray(list) ? list : list !== undefined ? [list] : [];
  if (candidates.length === 0) {
    throw new TempestInputError(
      `${where}: exports no perturbation module; export \`modules\` (a list), \`module\`, or a default module`,
      'BadModule',
    );
  }
  return candidates.map((candidate, index) => asModule(candidate, `${where} (module ${index})`));
}

async function importModuleFile(path: string, where: string): Promise<Record<string, unknown>> {
  try {
    return (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new TempestInputError(
      `${where}: cannot load ${path}: ${(error as Error).message.split('\n')[0]}`,
      'BadModule',
    );
  }
}

/**
 * Load the user modules a spec names. Module files go into the artifact store (when one is
 * given), so workers load exactly these bytes, from the store, wherever the spec lives.
 */
export async function loadCatalog(
  spec: Pick<BenchmarkSpec, 'modules'>,
  baseDir: string,
  store?: ArtifactStore,
): Promise<ModuleCatalog> {
  const loaded: { module: PerturbationModule; source: UserModuleSource }[] = [];
  const sources: UserModuleSource[] = [];
  for (const [index, entry] of spec.modules.entries()) {
    const where = `modules[${index}]`;
    let source: UserModuleSource;
    let exported: Record<string, unknown>;
    if ('path' in entry) {
      const path = resolveDataPath(baseDir, entry.path);
      let bytes: Buffer;
      try {
        bytes = await readFile(path);
      } catch (error) {
        throw new TempestInputError(
          `${where}.path: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
          'ModuleNotFound',
        );
      }
      const blob = store
        ? await store.putBlob(bytes, MEDIA_TYPES.javascript)
        : { sha256: sha256Hex(bytes), size: bytes.length, mediaType: MEDIA_TYPES.javascript };
      source = { kind: 'file', path: entry.path, sha256: blob.sha256, blob };
      exported = await importModuleFile(path, `${where}.path`);
    } else {
      let main: string;
      try {
        main = require.resolve(entry.package, { paths: [baseDir, process.cwd()] });
      } catch {
        throw new TempestInputError(
          `${where}.package: "${entry.package}" is not installed where the spec is (${baseDir}); npm install it there`,
          'ModuleNotFound',
        );
      }
      source = {
        kind: 'package',
        name: entry.package,
        version: await packageVersionNear(main, entry.package),
      };
      exported = await importModuleFile(main, `${where}.package`);
    }
    sources.push(source);
    for (const module of modulesOf(exported, where)) loaded.push({ module, source });
  }
  return new ModuleCatalog(loaded, sources);
}

async function packageVersionNear(entry: string, name: string): Promise<string> {
  for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === name) return manifest.version ?? '0.0.0';
    } catch {
      // keep walking up
    }
  }
  return 'unknown';
}

/**
 * The catalog of a stored plan, on a worker: module files come from the artifact store, written
 * under Tempest's own folder to be imported (so their `require('zod')` resolves to Tempest's
 * zod); packages come from this worker's installation and must be the recorded version.
 */
export async function catalogOfPlan(
  sources: readonly UserModuleSource[],
  store: ArtifactStore,
): Promise<ModuleCatalog> {
  const loaded: { module: PerturbationModule; source: UserModuleSource }[] = [];
  for (const [index, source] of sources.entries()) {
    const where = `plan module ${index}`;
    let exported: Record<string, unknown>;
    if (source.kind === 'file') {
      const dir = join(packageRoot(), '.tempest', 'user-modules');
      await mkdir(dir, { recursive: true });
      const path = join(dir, `${source.sha256}${extname(source.path) || '.js'}`);
      await writeFile(path, await store.getBlob(source.sha256));
      exported = await importModuleFile(path, `${where} (${source.path})`);
    } else {
      let main: string;
      try {
        main = require.resolve(source.name);
      } catch {
        throw new TempestInputError(
          `${where}: package "${source.name}" is not installed on this worker`,
          'ModuleNotFound',
        );
      }
      const version = await packageVersionNear(main, source.name);
      if (version !== source.version) {
        throw new TempestInputError(
          `${where}: the run used ${source.name}@${source.version}, this worker has ${version}; install the same version`,
          'ModuleVersionMismatch',
        );
      }
      exported = await importModuleFile(main, where);
    }
    for (const module of modulesOf(exported, where)) loaded.push({ module, source });
  }
  return new ModuleCatalog(loaded, sources);
}

export const BUILTIN_CATALOG = new ModuleCatalog();
