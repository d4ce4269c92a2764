import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers/cli';

// The workflow sandbox must stay deterministic: the lint config bans Node builtins, I/O libraries
// and core compute in workflows/. This test keeps that ban from silently disappearing.
async function lintWorkflowSource(source: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: REPO_ROOT });
  const [result] = await eslint.lintText(source, { filePath: join(REPO_ROOT, 'workflows', 'benchmark.ts') });
  return result.messages.map((message) => `${message.ruleId}: ${message.message}`);
}

describe('workflow lint guard', () => {
  it('bans Node builtins, ORT and the worker SDK in workflow code', async () => {
    const messages = await lintWorkflowSource(
      [
        "import { readFileSync } from 'node:fs';",
        "import * as ort from 'onnxruntime-node';",
        "import { Worker } from '@temporalio/worker';",
        'export const x = [readFileSync, ort, Worker];',
      ].join('\n'),
    );
    const restricted = messages.filter((message) => message.includes('no-restricted-imports'));
    expect(restricted).toHaveLength(3);
    expect(restricted[0]).toContain('Node builtins are not allowed in workflow code');
  }, 60_000);

  it('allows type-only imports from core but not core compute', async () => {
    const messages = await lintWorkflowSource(
      [
        "import type { BenchmarkPlan } from '../core/plan';",
        "import { computeCell } from '../core/cell';",
        'export const x: BenchmarkPlan | undefined = undefined;',
        'export const y = computeCell;',
      ].join('\n'),
    );
    const restricted = messages.filter((message) => message.includes('no-restricted-imports'));
    expect(restricted).toHaveLength(1);
    expect(restricted[0]).toContain('compute runs in activities');
  }, 60_000);
});
