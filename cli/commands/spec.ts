import { readFile, writeFile } from 'node:fs/promises';
import { specHash } from '../../core/plan';
import { declaredApiVersion, parseSpecText, validateSpec } from '../../spec';
import { diffSpecs, migrateSpecText } from '../../spec/tools';
import { readBenchmarkInput } from '../spec-file';

/** `tempest spec validate FILE...`: schema, module names and parameters; exit 2 on the first bad file. */
export async function specValidateCommand(files: string[]): Promise<number> {
  for (const file of files) {
    const input = await readBenchmarkInput(file);
    const declared = declaredApiVersion(parseSpecText(input.specText, file));
    const note =
      declared === input.spec.apiVersion
        ? ''
        : ` (migrates to ${input.spec.apiVersion}: run \`tempest spec migrate ${file}\`)`;
    console.log(`ok  ${file}: ${declared}${note}, spec hash ${specHash(input.spec).slice(0, 12)}`);
  }
  return 0;
}

/** `tempest spec migrate FILE [--out FILE | --in-place]`: the file at the current apiVersion. */
export async function specMigrateCommand(
  file: string,
  options: { out?: string; inPlace?: boolean },
): Promise<number> {
  const text = await readFile(file, 'utf8');
  const migrated = migrateSpecText(text, file);
  const target = options.inPlace ? file : options.out;
  if (target) {
    await writeFile(target, migrated.text);
    console.error(
      migrated.changed
        ? `migrated ${file} from ${migrated.from} to ${target}`
        : `${file} is already current; wrote ${target}`,
    );
  } else {
    process.stdout.write(migrated.text);
  }
  return 0;
}

/** `tempest spec diff A B`: differences by meaning; exit 0 when equal, 1 when they differ (like diff). */
export async function specDiffCommand(fileA: string, fileB: string): Promise<number> {
  const [a, b] = await Promise.all(
    [fileA, fileB].map(async (file) => validateSpec(parseSpecText(await readFile(file, 'utf8'), file), file)),
  );
  const differences = diffSpecs(a, b);
  if (differences.length === 0) {
    console.log(`same benchmark: ${fileA} and ${fileB} have spec hash ${specHash(a).slice(0, 12)}`);
    return 0;
  }
  const show = (value: unknown) => JSON.stringify(value);
  for (const difference of differences) {
    if (difference.kind === 'added') console.log(`+ ${difference.path}: ${show(difference.after)}`);
    else if (difference.kind === 'removed') console.log(`- ${difference.path}: ${show(difference.before)}`);
    else console.log(`~ ${difference.path}: ${show(difference.before)} -> ${show(difference.after)}`);
  }
  console.log(
    `${differences.length} difference(s); spec hash ${specHash(a).slice(0, 12)} -> ${specHash(b).slice(0, 12)}`,
  );
  return 1;
}
