import type { ProvenanceRecord } from '../provenance/record';
import type { BenchmarkResults } from '../results';

const percent = (value: number): string => `${(value * 100).toFixed(2)}%`;

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** report.md: the results a person reads first, then where they came from. */
export function renderMarkdownReport(results: BenchmarkResults, provenance: ProvenanceRecord): string {
  const models = results.models.map((model) => model.id);
  const conditions = [...new Set(results.summary.map((row) => row.condition))];
  const accuracyTable = table(
    ['condition', ...models],
    conditions.map((condition) => [
      condition,
      ...models.map((model) => {
        const row = results.summary.find((entry) => entry.model === model && entry.condition === condition);
        if (!row) return '–';
        const sd = row.accuracy.sd === null ? '' : ` ± ${(row.accuracy.sd * 100).toFixed(2)}`;
        return `${percent(row.accuracy.mean)}${sd}${row.replicates > 1 ? ` (n=${row.replicates})` : ''}`;
      }),
    ]),
  );
  const cellTable = table(
    ['#', 'model', 'condition', 'seed', 'accuracy', 'correct / total', 'cell key'],
    results.cells.map((cell) => [
      String(cell.index),
      cell.model,
      cell.condition,
      cell.seed === null ? '–' : String(cell.seed),
      percent(cell.metrics.accuracy),
      `${cell.metrics.correct} / ${cell.metrics.total}`,
      `\`${cell.key.slice(0, 16)}\``,
    ]),
  );
  const { run, environment, counts } = provenance;
  return [
    `# Tempest report: ${results.benchmark.name}`,
    '',
    `Spec sha256 \`${results.benchmark.specHash}\`, dataset \`${results.dataset.hash.slice(0, 16)}\` ` +
      `(${results.dataset.samples} samples), runtime ${results.runtime}.`,
    '',
    '## Accuracy by condition',
    '',
    'Mean top-1 accuracy over replicate seeds (± sample SD where there are several).',
    '',
    accuracyTable,
    '',
    '## Cells',
    '',
    cellTable,
    '',
    '## Provenance',
    '',
    table(
      ['field', 'value'],
      [
        ['executor', run.executor],
        ['workflow id', `\`${run.workflowId}\``],
        ['run id', `\`${run.runId}\``],
        ['started / finished', `${run.startedAt} / ${run.finishedAt}`],
        ['cells computed / reused / retried', `${counts.computed} / ${counts.reused} / ${counts.retried}`],
        ...provenance.models.map((model) => [`model ${model.id}`, `${model.path} \`${model.sha256}\``]),
        ['modules', provenance.modules.join(', ') || '–'],
        ['seeds', provenance.seeds.join(', ')],
        ['node / platform', `${environment.node} / ${environment.platform}-${environment.arch}`],
        ['cpu', `${environment.cpuModel} x${environment.cpuCount}`],
        ['onnxruntime-node', environment.packages['onnxruntime-node'] ?? '?'],
        ['temporal worker sdk', environment.packages['@temporalio/worker'] ?? '?'],
      ],
    ),
    '',
  ].join('\n');
}
