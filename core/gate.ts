import { dirname, isAbsolute, resolve } from 'node:path';
import type { GatePolicyV1, MetricRuleV1, RegressionRuleV1 } from '../spec';
import { compareRuns, loadRunSelection, type RunSelection } from './compare';
import type { CellEvaluation } from './evaluation';
import { table } from './report/markdown';
import type { ArtifactStore } from './store/types';

export interface GateCheck {
  readonly rule: string;
  readonly passed: boolean;
  readonly detail: string;
  /** The rule reached a not-applicable cell: no value was judged (see `detail`). */
  readonly notApplicable?: true;
}

export interface GateOutcome {
  readonly passed: boolean;
  readonly checks: readonly GateCheck[];
  readonly markdown: string;
}

/** The value a metric rule reads from one evaluated cell, as the rule's `use` asks (estimate or bound). */
function metricValue(cell: CellEvaluation, rule: MetricRuleV1): number | null {
  switch (rule.metric) {
    case 'accuracy':
      return rule.use === 'lower'
        ? cell.accuracy.lower
        : rule.use === 'upper'
          ? cell.accuracy.upper
          : cell.accuracy.estimate;
    case 'ece':
      return cell.calibration.ece;
    case 'worst_group_accuracy':
      return cell.subgroups.worstGroupAccuracy;
    case 'flip_rate':
      return cell.versusClean?.flipRate ?? null;
    case 'mce':
      return null;
  }
}

function checkMetricRule(run: RunSelection, rule: MetricRuleV1): GateCheck[] {
  const name =
    rule.name ??
    `${rule.model} ${rule.condition} ${rule.metric}${rule.use === 'estimate' ? '' : ` (${rule.use} bound)`}`;
  const bounds = [
    rule.min === undefined ? '' : `>= ${rule.min}`,
    rule.max === undefined ? '' : `<= ${rule.max}`,
  ]
    .filter(Boolean)
    .join(' and ');
  if (rule.metric === 'mce') {
    const scores = run.results.corruptionError?.models.find((model) => model.model === rule.model);
    const value = scores?.mCE ?? null;
    return [judge(name, value, rule, bounds, 'mCE')];
  }
  const cells = (run.results.evaluation?.cells ?? []).filter(
    (cell) => cell.model === rule.model && (rule.condition === '*' || cell.condition === rule.condition),
  );
  const notApplicable = (run.results.notApplicable ?? []).filter(
    (cell) => cell.model === rule.model && (rule.condition === '*' || cell.condition === rule.condition),
  );
  const notApplicableChecks = notApplicable.map((cell) =>
    notApplicableCheck(
      cells.length + notApplicable.length > 1
        ? `${name}: ${cell.condition}${cell.seed === null ? '' : ` seed ${cell.seed}`}`
        : name,
      cell,
      rule.condition !== '*',
    ),
  );
  if (cells.length === 0 && notApplicable.length > 0) return notApplicableChecks;
  if (cells.length === 0) {
    return [
      {
        rule: name,
        passed: false,
        detail: `no evaluated cell of ${rule.model} under ${rule.condition} in this run`,
      },
    ];
  }
  return [
    ...cells.map((cell) =>
      judge(
        cells.length + notApplicable.length > 1
          ? `${name}: ${cell.condition}${cell.seed === null ? '' : ` seed ${cell.seed}`}`
          : name,
        metricValue(cell, rule),
        rule,
        bounds,
        rule.metric,
      ),
    ),
    ...notApplicableChecks,
  ];
}

/**
 * A rule that reaches a not-applicable cell (a white-box attack on a model without an input
 * gradient) has no value to judge. A rule naming that condition fails: the policy asks for a
 * number the run cannot produce, and a gate must not pass on evidence it does not have. A
 * wildcard rule (`condition: '*'`) judges the cells that exist and lists the n/a ones as not judged.
 */
function notApplicableCheck(
  rule: string,
  cell: NonNullable<RunSelection['results']['notApplicable']>[number],
  named: boolean,
): GateCheck {
  return {
    rule,
    passed: !named,
    notApplicable: true,
    detail:
      `not applicable: ${cell.reason}` +
      (named
        ? '; the rule names this attack, so it fails (use a black-box attack for this model, or drop the rule)'
        : '; not judged (the wildcard rule covers the cells that ran)'),
  };
}

function judge(
  rule: string,
  value: number | null,
  bounds: MetricRuleV1,
  text: string,
  metric: string,
): GateCheck {
  if (value === null) return { rule, passed: false, detail: `${metric} is not defined for this cell` };
  const passed =
    (bounds.min === undefined || value >= bounds.min) && (bounds.max === undefined || value <= bounds.max);
  return { rule, passed, detail: `${metric} = ${value.toFixed(4)}, required ${text}` };
}

async function checkRegressionRule(
  store: ArtifactStore,
  run: RunSelection,
  rule: RegressionRuleV1,
  policyDir: string,
): Promise<GateCheck[]> {
  const baselinePath = isAbsolute(rule.baseline) ? rule.baseline : resolve(policyDir, rule.baseline);
  const baseline = await loadRunSelection(`${baselinePath}:${rule.model}`);
  const comparisons = (
    await compareRuns(
      store,
      baseline,
      { ...run, model: rule.model },
      { alpha: rule.alpha, minimumEffect: rule.maxDrop },
    )
  ).filter((comparison) => !rule.conditions || rule.conditions.includes(comparison.a.condition));
  const name = rule.name ?? `no regression of ${rule.model} against ${rule.baseline}`;
  // A cell the baseline measured but this run could not: the regression cannot be checked there.
  const unmeasured = (run.results.notApplicable ?? [])
    .filter(
      (cell) => cell.model === rule.model && (!rule.conditions || rule.conditions.includes(cell.condition)),
    )
    .map((cell): GateCheck => {
      const measured = baseline.results.cells.some(
        (other) =>
          other.model === rule.model && other.condition === cell.condition && other.seed === cell.seed,
      );
      return {
        rule: `${name}: ${cell.condition}${cell.seed === null ? '' : ` seed ${cell.seed}`}`,
        passed: !measured,
        notApplicable: true,
        detail:
          `not applicable in this run: ${cell.reason}` +
          (measured
            ? '; the baseline measured it, so a regression cannot be ruled out: fails'
            : '; not measured in the baseline either: not judged'),
      };
    });
  return [
    ...comparisons.map((comparison) => {
      const drop = -comparison.difference.estimate;
      const failed = drop > rule.maxDrop && comparison.significant;
      const where = `${comparison.a.condition}${comparison.a.seed === null ? '' : ` seed ${comparison.a.seed}`}`;
      return {
        rule: `${name}: ${where}`,
        passed: !failed,
        detail:
          `accuracy ${comparison.a.accuracy.toFixed(4)} -> ${comparison.b.accuracy.toFixed(4)} ` +
          `(drop ${(drop * 100).toFixed(2)} points, tolerated ${(rule.maxDrop * 100).toFixed(2)}; ` +
          `adjusted p ${comparison.adjustedP.toPrecision(3)}${comparison.significant ? ', significant' : ''})`,
      };
    }),
    ...unmeasured,
  ];
}

/** Check a run against a gate policy; the Markdown summary is written to fit a CI comment. */
export async function evaluateGate(
  store: ArtifactStore,
  runPath: string,
  policy: GatePolicyV1,
  policyFile: string,
): Promise<GateOutcome> {
  const run = await loadRunSelection(runPath);
  const checks: GateCheck[] = [
    ...policy.rules.flatMap((rule) => checkMetricRule(run, rule)),
    ...(
      await Promise.all(
        policy.regressions.map((rule) => checkRegressionRule(store, run, rule, dirname(policyFile))),
      )
    ).flat(),
  ];
  const passed = checks.every((check) => check.passed);
  const failures = checks.filter((check) => !check.passed).length;
  const markdown = [
    `## Tempest gate: ${passed ? 'PASSED' : 'FAILED'}`,
    '',
    `Run \`${run.results.benchmark.name}\` (${runPath}), policy \`${policyFile}\`: ` +
      `${checks.length - failures} of ${checks.length} checks passed.`,
    '',
    table(
      ['', 'check', 'detail'],
      checks.map((check) => [
        check.passed ? (check.notApplicable ? 'n/a' : 'pass') : '**FAIL**',
        check.rule,
        check.detail,
      ]),
    ),
    '',
  ].join('\n');
  return { passed, checks, markdown };
}
