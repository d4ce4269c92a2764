import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLE_ARTIFACTS } from '../../client/bundle';
import { derivedFiles, OUTPUT_FILES } from '../../client/outputs';
import { loadPublicKey } from '../../core/provenance/signature';
import { LocalArtifactStore } from '../../core/store/local';
import { openArtifactStore } from '../../core/store/open';
import { verifyRunFolder, type VerifyCheck } from '../../core/verify';
import { defaultArtifactsDir } from '../state';
import { replayCommand } from './replay';

export interface VerifyCommandOptions {
  readonly artifacts?: string;
  readonly reexecute: number;
  readonly seed: number;
  readonly publicKey?: string;
  readonly replay: boolean;
  /** Keys to decode an encrypted history for the replay. */
  readonly payloadKeyFile?: string;
}

/**
 * Audit a run folder or exported bundle: file checksums, signature, every artifact re-hashed,
 * the Merkle root, derived records, a seeded sample of cells re-executed, the history replayed.
 * Exit 1 when any check fails, naming what failed.
 */
export async function verifyCommand(dir: string, options: VerifyCommandOptions): Promise<number> {
  const bundled = existsSync(join(dir, BUNDLE_ARTIFACTS));
  const store = bundled
    ? new LocalArtifactStore(join(dir, BUNDLE_ARTIFACTS))
    : openArtifactStore(options.artifacts ?? defaultArtifactsDir());
  const checks: VerifyCheck[] = await verifyRunFolder(dir, {
    store,
    reexecute: options.reexecute,
    seed: options.seed,
    trustedKey: options.publicKey ? await loadPublicKey(options.publicKey) : undefined,
    derive: derivedFiles,
    checksumsFile: OUTPUT_FILES.checksums,
    signatureFile: OUTPUT_FILES.signature,
    recordFile: OUTPUT_FILES.record,
    onProgress: (message) => console.error(message),
  });
  if (options.replay && existsSync(join(dir, OUTPUT_FILES.history))) {
    // The folder: history.json and, for a sharded sweep, every other run's history in histories/.
    const code = await replayCommand([dir], {
      payloadKeyFile: options.payloadKeyFile,
    });
    checks.push({
      check: 'history replay',
      ok: code === 0,
      detail:
        code === 0
          ? 'the event histories replay against the current workflow code'
          : 'an event history no longer replays (see above)',
    });
  }
  console.log(`# tempest verify ${dir}${bundled ? ' (bundle)' : ''}\n`);
  for (const check of checks) console.log(`${check.ok ? 'PASS' : 'FAIL'}  ${check.check}: ${check.detail}`);
  const failed = checks.filter((check) => !check.ok);
  console.log(
    failed.length === 0
      ? '\nverified: every check passed'
      : `\nFAILED: ${failed.map((check) => check.check).join(', ')}`,
  );
  return failed.length === 0 ? 0 : 1;
}
