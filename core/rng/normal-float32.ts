import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';

/**
 * Fast float32 sums of scaled normal quantiles, bit-identical to the slow formula.
 *
 * The noise corruptions compute fround(a + b * normalQuantile(p, 0, sigma)) for every value of an
 * image: stdlib's quantile (sigma * sqrt(2) * erfinv(2p - 1)) is accurate but costs most of the
 * corruption's time. Only the float32 result is kept, and float32 has 29 bits fewer than a double,
 * so a close approximation almost always rounds to the same float32. This module evaluates
 * Wichura's AS 241 (PPND16) approximation, brackets stdlib's value with a proven margin, and
 * returns the float32 when both ends of the bracket round to it; only otherwise (about one value
 * in 10^3) does it call stdlib. The result equals the slow formula's for every input, so modules
 * that switch to it keep their bytes and their versions.
 *
 * Why the bracket holds: t -> fround(a + b * t) (double operations, each rounded) is monotone in t,
 * so if stdlib's value lies in [lo, hi] and both ends give the same float32, stdlib's value gives
 * it too. stdlib's value is the quantile of p' = (1 + x) / 2 where x = 2p - 1 is the double it
 * hands to erfinv; this module starts from the same x, so both approximate the same number.
 */

/**
 * Bound on |fast - stdlib| / |stdlib|. AS 241 is accurate to about 1e-16 and stdlib's erfinv to a
 * few units in the last place: the largest relative difference measured, over dense grids of p,
 * both tails down to 2^-54 and millions of random 53-bit uniforms, is 1.1e-15; the bound leaves a
 * margin of 10^4 (test/normal-float32.test.ts keeps the measured difference 100 times below it).
 */
export const QUANTILE_RELATIVE_BOUND = 2 ** -36;

// AS 241 coefficients (Wichura, Applied Statistics 37(3), 1988): central region |p - 0.5| <= 0.425.
const A0 = 3.3871328727963665;
const A1 = 133.14166789178438;
const A2 = 1971.5909503065513;
const A3 = 13731.69376550946;
const A4 = 45921.95393154987;
const A5 = 67265.7709270087;
const A6 = 33430.57558358813;
const A7 = 2509.0809287301227;
const B1 = 42.31333070160091;
const B2 = 687.1870074920579;
const B3 = 5394.196021424751;
const B4 = 21213.794301586597;
const B5 = 39307.89580009271;
const B6 = 28729.085735721943;
const B7 = 5226.495278852854;
// Tails with r = sqrt(-ln(min(p, 1 - p))) <= 5.
const C0 = 1.4234371107496835;
const C1 = 4.630337846156546;
const C2 = 5.769497221460691;
const C3 = 3.6478483247632045;
const C4 = 1.2704582524523684;
const C5 = 0.2417807251774506;
const C6 = 0.022723844989269184;
const C7 = 0.0007745450142783414;
const D1 = 2.053191626637759;
const D2 = 1.6763848301838038;
const D3 = 0.6897673349851;
const D4 = 0.14810397642748008;
const D5 = 0.015198666563616457;
const D6 = 0.0005475938084995345;
const D7 = 1.0507500716444169e-9;
// Far tails, r > 5 (p below about 1.4e-11).
const E0 = 6.657904643501103;
const E1 = 5.463784911164114;
const E2 = 1.7848265399172913;
const E3 = 0.29656057182850487;
const E4 = 0.026532189526576124;
const E5 = 0.0012426609473880784;
const E6 = 0.000027115555687434876;
const E7 = 2.0103343992922881e-7;
const F1 = 0.599832206555888;
const F2 = 0.1369298809227358;
const F3 = 0.014875361290850615;
const F4 = 0.0007868691311456133;
const F5 = 0.000018463183175100548;
const F6 = 1.421511758316446e-7;
const F7 = 2.0442631033899397e-15;

/** The standard normal quantile of 0.5 + half (|half| < 0.5) by AS 241. */
export function standardNormalQuantileAs241(half: number): number {
  if (half <= 0.425 && half >= -0.425) {
    const r = 0.180625 - half * half;
    return (
      (half * (((((((A7 * r + A6) * r + A5) * r + A4) * r + A3) * r + A2) * r + A1) * r + A0)) /
      (((((((B7 * r + B6) * r + B5) * r + B4) * r + B3) * r + B2) * r + B1) * r + 1)
    );
  }
  // min(p, 1 - p) = 0.5 - |half|, exact here (Sterbenz: |half| > 0.425).
  let r = Math.sqrt(-Math.log(0.5 - Math.abs(half)));
  let z: number;
  if (r <= 5) {
    r -= 1.6;
    z =
      (((((((C7 * r + C6) * r + C5) * r + C4) * r + C3) * r + C2) * r + C1) * r + C0) /
      (((((((D7 * r + D6) * r + D5) * r + D4) * r + D3) * r + D2) * r + D1) * r + 1);
  } else {
    r -= 5;
    z =
      (((((((E7 * r + E6) * r + E5) * r + E4) * r + E3) * r + E2) * r + E1) * r + E0) /
      (((((((F7 * r + F6) * r + F5) * r + F4) * r + F3) * r + F2) * r + F1) * r + 1);
  }
  return half < 0 ? -z : z;
}

/**
 * Exactly Math.fround(a + b * normalQuantile(p, 0, sigma)) for finite a, b, p in (0, 1) and
 * sigma > 0, mostly without evaluating stdlib's quantile.
 */
export function float32PlusScaledNormalQuantile(a: number, b: number, p: number, sigma: number): number {
  const x = 2 * p - 1; // the double stdlib's quantile passes to erfinv, rounded the same way
  const value = sigma * standardNormalQuantileAs241(0.5 * x);
  const margin = Math.abs(value) * QUANTILE_RELATIVE_BOUND;
  const low = Math.fround(a + b * (value - margin));
  // Zero is excluded because === cannot tell +0 from -0, whose bytes differ.
  if (low === Math.fround(a + b * (value + margin)) && low !== 0) return low;
  return Math.fround(a + b * normalQuantile(p, 0, sigma));
}
