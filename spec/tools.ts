import { parseDocument, type Scalar } from 'yaml';
import {
  declaredApiVersion,
  parseSpecText,
  validateSpec,
  CURRENT_API_VERSION,
  SpecError,
  type BenchmarkSpec,
} from './load';

/**
 * Spec maintenance, as for any versioned config repository: migrate a file to the current
 * version keeping the author's comments and layout, and diff two specs by meaning (after
 * defaults and migration), not by text.
 */

/** The spec text migrated to the current apiVersion; comments, order and formatting are kept. */
export function migrateSpecText(
  text: string,
  source: string,
): { text: string; from: string; changed: boolean } {
  const from = declaredApiVersion(parseSpecText(text, source)) ?? '(none)';
  validateSpec(parseSpecText(text, source), source);
  if (from === CURRENT_API_VERSION) return { text, from, changed: false };
  // v1 -> v2 changes nothing but the version: v2 only adds sections. Later migrations that move
  // fields would edit the document here the same way, node by node.
  // The version's value is replaced where it stands, so every other byte stays the author's.
  const document = parseDocument(text, { uniqueKeys: true });
  const node = document.get('apiVersion', true) as Scalar | undefined;
  const range = node?.range;
  const migrated = range
    ? `${text.slice(0, range[0])}${CURRENT_API_VERSION}${text.slice(range[1])}`
    : (document.set('apiVersion', CURRENT_API_VERSION), document.toString());
  validateSpec(parseSpecText(migrated, `${source} (migrated)`), `${source} (migrated)`);
  return { text: migrated, from, changed: true };
}

export interface SpecDifference {
  readonly path: string;
  readonly kind: 'added' | 'removed' | 'changed';
  readonly before?: unknown;
  readonly after?: unknown;
}

function formatPath(path: readonly (string | number)[]): string {
  return (
    path
      .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${part}`))
      .join('') || '(spec)'
  );
}

/** Differences between two validated specs, field by field, with defaults filled in on both sides. */
export function diffSpecs(a: BenchmarkSpec, b: BenchmarkSpec): SpecDifference[] {
  const differences: SpecDifference[] = [];
  const walk = (before: unknown, after: unknown, path: (string | number)[]) => {
    if (JSON.stringify(before) === JSON.stringify(after)) return;
    const bothArrays = Array.isArray(before) && Array.isArray(after);
    const bothObjects =
      !bothArrays &&
      before !== null &&
      after !== null &&
      typeof before === 'object' &&
      typeof after === 'object' &&
      !Array.isArray(before) &&
      !Array.isArray(after);
    if (bothArrays) {
      const length = Math.max(before.length, after.length);
      for (let i = 0; i < length; i++) {
        if (i >= before.length)
          differences.push({ path: formatPath([...path, i]), kind: 'added', after: after[i] });
        else if (i >= after.length)
          differences.push({ path: formatPath([...path, i]), kind: 'removed', before: before[i] });
        else walk(before[i], after[i], [...path, i]);
      }
      return;
    }
    if (bothObjects) {
      const left = before as Record<string, unknown>;
      const right = after as Record<string, unknown>;
      for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()) {
        if (!(key in right) || right[key] === undefined) {
          if (left[key] !== undefined)
            differences.push({ path: formatPath([...path, key]), kind: 'removed', before: left[key] });
        } else if (!(key in left) || left[key] === undefined) {
          differences.push({ path: formatPath([...path, key]), kind: 'added', after: right[key] });
        } else walk(left[key], right[key], [...path, key]);
      }
      return;
    }
    differences.push({ path: formatPath(path), kind: 'changed', before, after });
  };
  walk(a, b, []);
  return differences;
}

export { SpecError };
