import type { AccessVector, AttackNorm } from './types';

/**
 * Signs that an evaluation measured gradient masking rather than robustness, from the checklists
 * of Athalye, Carlini & Wagner 2018 ("Obfuscated gradients give a false sense of security", sec. 3.1)
 * and Carlini et al. 2019 ("On evaluating adversarial robustness", sec. 5), and the flags
 * AutoAttack raises (Croce & Hein 2020). A pure function over per-epsilon results; it warns, and
 * leaves the verdict to the reader.
 *
 * 1. Robust accuracy must not increase with eps: a bigger ball contains the smaller one.
 * 2. Black-box attacks must not beat white-box attacks at the same eps: they have strictly less
 *    information, so winning means the gradients mislead (AutoAttack flags Square beating APGD).
 * 3. At a very large eps (e.g. Linf 0.5 on [0, 1] images, where any image can be turned into
 *    grey) accuracy must reach about zero; if not, the attack is not working.
 * 4. Many samples with an all-zero input gradient: shattered or saturated gradients.
 */

export interface EpsilonResult {
  /** Attack name, e.g. "pgd" or "square". */
  readonly attack: string;
  readonly access: AccessVector;
  readonly norm: AttackNorm;
  readonly epsilon: number;
  readonly robustAccuracy: number;
}

export interface GuardRailOptions {
  /** Allowed rise of robust accuracy with eps, and black-box advantage (sampling noise). */
  readonly tolerance?: number;
  /** Eps per norm at or beyond which accuracy should be near zero (default Linf 0.5; L2 none). */
  readonly largeEpsilon?: Partial<Record<AttackNorm, number>>;
  readonly nearZeroAccuracy?: number;
  /** Fraction of samples with all-zero gradients from the gradient oracle at the clean inputs. */
  readonly zeroGradientFraction?: number;
  readonly maxZeroGradientFraction?: number;
}

export type GuardRailCode =
  'non-monotone' | 'black-box-stronger' | 'large-epsilon-not-broken' | 'zero-gradients';

export interface GuardRailWarning {
  readonly code: GuardRailCode;
  readonly message: string;
}

/** Fraction of samples whose gradient (flat [N, D]) is zero everywhere. */
export function zeroGradientFraction(gradient: Float32Array, samples: number): number {
  if (samples === 0) return 0;
  const size = gradient.length / samples;
  let zero = 0;
  for (let i = 0; i < samples; i++) {
    let allZero = true;
    for (let j = i * size; j < (i + 1) * size && allZero; j++) if (gradient[j] !== 0) allZero = false;
    if (allZero) zero++;
  }
  return zero / samples;
}

const percent = (value: number) => `${(value * 100).toFixed(1)}%`;

export function gradientMaskingWarnings(
  results: readonly EpsilonResult[],
  options: GuardRailOptions = {},
): GuardRailWarning[] {
  const tolerance = options.tolerance ?? 0.002;
  const largeEpsilon = { linf: 0.5, ...options.largeEpsilon };
  const nearZero = options.nearZeroAccuracy ?? 0.05;
  const warnings: GuardRailWarning[] = [];

  const byAttack = new Map<string, EpsilonResult[]>();
  for (const result of results) {
    const key = `${result.attack}/${result.norm}`;
    byAttack.set(key, [...(byAttack.get(key) ?? []), result]);
  }
  for (const [key, series] of byAttack) {
    const sorted = [...series].sort((a, b) => a.epsilon - b.epsilon);
    for (let k = 1; k < sorted.length; k++) {
      const [before, after] = [sorted[k - 1], sorted[k]];
      if (after.robustAccuracy > before.robustAccuracy + tolerance) {
        warnings.push({
          code: 'non-monotone',
          message: `${key}: robust accuracy rises from ${percent(before.robustAccuracy)} at eps ${before.epsilon} to ${percent(after.robustAccuracy)} at eps ${after.epsilon}; a larger ball cannot be harder to attack (gradient masking or a failing attack)`,
        });
      }
    }
  }

  const cells = new Map<string, { white?: EpsilonResult; black?: EpsilonResult }>();
  for (const result of results) {
    const key = `${result.norm} eps ${result.epsilon}`;
    const cell = cells.get(key) ?? {};
    const slot = result.access === 'white-box' ? 'white' : 'black';
    if (!cell[slot] || result.robustAccuracy < cell[slot].robustAccuracy) cell[slot] = result;
    cells.set(key, cell);
  }
  for (const [key, { white, black }] of cells) {
    if (white && black && black.robustAccuracy < white.robustAccuracy - tolerance) {
      warnings.push({
        code: 'black-box-stronger',
        message: `${key}: black-box ${black.attack} leaves ${percent(black.robustAccuracy)} robust, below white-box ${white.attack} (${percent(white.robustAccuracy)}); the gradients may be masked`,
      });
    }
  }

  for (const result of results) {
    const large = largeEpsilon[result.norm];
    if (large !== undefined && result.epsilon >= large && result.robustAccuracy > nearZero) {
      warnings.push({
        code: 'large-epsilon-not-broken',
        message: `${result.attack} ${result.norm} eps ${result.epsilon}: ${percent(result.robustAccuracy)} robust at an eps that allows changing any input into any other; expected about 0`,
      });
    }
  }

  const zero = options.zeroGradientFraction;
  const maxZero = options.maxZeroGradientFraction ?? 0.1;
  if (zero !== undefined && zero > maxZero) {
    warnings.push({
      code: 'zero-gradients',
      message: `${percent(zero)} of samples have an all-zero input gradient (over ${percent(maxZero)}): shattered or saturated gradients make white-box attacks fail silently`,
    });
  }
  return warnings;
}
