import { BUILTIN_ATTACKS } from '../../core/attack/registry';
import { BUILTIN_CATALOG, loadCatalog } from '../../core/perturb/catalog';
import type { PerturbationModule } from '../../core/perturb/module';
import { readBenchmarkInput } from '../spec-file';

function severityTable(module: PerturbationModule): string {
  if (!module.severityParams) return 'no severity scale (give params)';
  return [1, 2, 3, 4, 5]
    .map((severity) => JSON.stringify(module.severityParams!(severity)).replace(/"/g, ''))
    .join('  ');
}

/**
 * List the perturbation modules a run can use: the built-ins, plus a spec's user modules when a
 * spec is given. `--markdown` prints the table the README carries.
 */
export async function modulesCommand(options: { spec?: string; markdown: boolean }): Promise<number> {
  const catalog = options.spec
    ? await (async () => {
        const input = await readBenchmarkInput(options.spec!);
        return loadCatalog(input.spec, input.baseDir);
      })()
    : BUILTIN_CATALOG;
  const modules = catalog.list();
  if (options.markdown) {
    console.log('| module | version | input | random | parameters at severities 1-5 |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const module of modules) {
      console.log(
        `| \`${module.name}\` | ${module.version} | ${module.inputKind} | ${module.stochastic ? 'yes' : 'no'} | ${severityTable(module)} |`,
      );
    }
    console.log('');
    console.log('| attack | version | access | reference |');
    console.log('| --- | --- | --- | --- |');
    for (const attack of BUILTIN_ATTACKS) {
      console.log(`| \`${attack.name}\` | ${attack.version} | ${attack.access} | ${attack.reference} |`);
    }
    return 0;
  }
  for (const module of modules) {
    const origin = catalog.origin(module.name);
    console.log(
      `${module.name}@${module.version}  ${module.inputKind}${module.stochastic ? ', stochastic' : ''}${origin ? `  (${origin})` : ''}`,
    );
    console.log(`  ${module.description}`);
    if (module.reference) console.log(`  reference: ${module.reference}`);
    console.log(`  severities 1-5: ${severityTable(module)}`);
  }
  console.log('\nattacks (spec v2 `attacks:`):');
  for (const attack of BUILTIN_ATTACKS) {
    console.log(`${attack.name}@${attack.version}  ${attack.access}`);
    console.log(`  ${attack.description}`);
    console.log(`  reference: ${attack.reference}`);
  }
  return 0;
}
