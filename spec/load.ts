import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { BenchmarkSpecV1 } from './v1';
import { BenchmarkSpecV2, migrateV1ToV2 } from './v2';

/** The newest spec version; older versions are migrated forward to it. */
export type BenchmarkSpec = BenchmarkSpecV2;
export const CURRENT_API_VERSION = 'tempest/v2';
export const SUPPORTED_API_VERSIONS = ['tempest/v1', 'tempest/v2'] as const;
export type SpecApiVersion = (typeof SUPPORTED_API_VERSIONS)[number];

export interface SpecProblem {
  /** Field path such as `models[1].path`, or `(document)` for the whole file. */
  readonly path: string;
  readonly message: string;
}

/** A spec that cannot be used; `problems` says where and why, the message lists them all. */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  constructor(
    readonly source: string,
    readonly problems: readonly SpecProblem[],
  ) {
    super(
      `invalid benchmark spec ${source}:\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`,
    );
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(document)';
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

function problemsOf(error: z.ZodError): SpecProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** Parse YAML or JSON text (JSON is YAML) into a plain value, reporting syntax errors with line numbers. */
export function parseSpecText(text: string, source: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new SpecError(
      source,
      document.errors.map((error) => ({
        path: `(syntax, line ${error.linePos?.[0].line ?? '?'})`,
        message: error.message.split('\n')[0],
      })),
    );
  }
  return document.toJS() as unknown;
}

/** Validate a parsed document against the schema its apiVersion names, migrating it to the current version. */
export function validateSpec(document: unknown, source: string): BenchmarkSpec {
  const apiVersion =
    document !== null && typeof document === 'object'
      ? (document as Record<string, unknown>).apiVersion
      : undefined;
  if (typeof apiVersion !== 'string') {
    throw new SpecError(source, [
      { path: 'apiVersion', message: `required; one of ${SUPPORTED_API_VERSIONS.join(', ')}` },
    ]);
  }
  if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new SpecError(source, [
      {
        path: 'apiVersion',
        message: `unknown version "${apiVersion}"; this Tempest reads ${SUPPORTED_API_VERSIONS.join(', ')}`,
      },
    ]);
  }
  if (apiVersion === 'tempest/v1') {
    const parsed = BenchmarkSpecV1.safeParse(document);
    if (!parsed.success) throw new SpecError(source, problemsOf(parsed.error));
    return migrateV1ToV2(parsed.data);
  }
  const parsed = BenchmarkSpecV2.safeParse(document);
  if (!parsed.success) throw new SpecError(source, problemsOf(parsed.error));
  return parsed.data;
}

/** The apiVersion a document declares (before validation), for `tempest spec validate`. */
export function declaredApiVersion(document: unknown): string | undefined {
  const value =
    document !== null && typeof document === 'object'
      ? (document as Record<string, unknown>).apiVersion
      : undefined;
  return typeof value === 'string' ? value : undefined;
}

export function loadSpecText(text: string, source: string): BenchmarkSpec {
  return validateSpec(parseSpecText(text, source), source);
}
