import { z } from 'zod';
import { TempestInputError } from '../errors';
import type { PhiloxStream } from '../rng/philox';
import { sampleSize, type Tensor } from '../tensor/tensor';
import {
  aliveSamples,
  batchStreams,
  finishAttack,
  isAdversarial,
  oracleForBatch,
  sampleView,
  stackRows,
} from './batch';
import { projectInPlace, type Bounds } from './norms';
import type { BudgetedOracle } from './oracle';
import { QueryBudgetParam, threatModelShape } from './params';
import type { AttackContext, AttackModule, AttackNorm } from './types';

/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient
 * black-box adversarial attack via random search", ECCV; Algorithms 1-3). Score-based random
 * search on the margin loss z_y - max_{j != y} z_j: each iteration changes one random square
 * window of side h = round(sqrt(p * H * W)), and a proposal is kept only if it lowers the margin.
 * p follows the paper's piecewise-constant schedule (halved at 10, 50, 200, 500, 1000, 2000,
 * 4000, 6000, 8000 of 10,000 iterations, rescaled to the query budget).
 *
 * - Linf: init with vertical stripes of +-eps per column and channel; a proposal sets the window to
 *   +-eps, one sign per channel (redrawn, at most a few times, if it would not change the image).
 * - L2: init with a grid of +-"meta pseudo-Gaussian" tiles (two opposite-signed pseudo-Gaussian
 *   halves, sec. 3.2) scaled to norm eps; a proposal moves the mass of a second window into a new
 *   pseudo-Gaussian bump on the first (per channel: old window content + new bump, rescaled so
 *   the image keeps norm eps), as in Algorithm 3. Side h is odd and at least 3 for L2.
 *
 * Each model evaluation of a sample is one query (the init costs one); a sample stops at success
 * or when its budget is spent. Deviation: AutoAttack's default p_init = 0.8 is the default here.
 */

const SquareParams = z
  .object({
    ...threatModelShape(),
    queryBudget: QueryBudgetParam.default(5000),
    /** Initial fraction of pixels changed per iteration. */
    pInit: z.number().positive().max(1).default(0.8),
  })
  .strict();
export type SquareParams = z.infer<typeof SquareParams>;

/** The paper's p schedule, with the iteration rescaled to a budget of 10,000. */
export function squareFraction(pInit: number, iteration: number, budget: number): number {
  const scaled = Math.floor((iteration / budget) * 10000);
  const halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].filter((edge) => scaled > edge).length;
  return pInit / 2 ** halvings;
}

interface ImageShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

function imageShape(dims: readonly number[]): ImageShape {
  if (dims.length === 3) return { channels: dims[0], height: dims[1], width: dims[2] };
  if (dims.length === 2) return { channels: 1, height: dims[0], width: dims[1] };
  // Tabular samples: one row of F features, so a window is a run of adjacent features.
  if (dims.length === 1) return { channels: 1, height: 1, width: dims[0] };
  throw new TempestInputError(
    `the Square attack needs samples of shape [C, H, W], [H, W] or [F] (tabular); the data's samples are ` +
      `[${dims.join(', ')}]: use simba or hop-skip-jump, which take samples of any shape`,
    'UnsupportedInputShape',
  );
}

const sign = (stream: PhiloxStream) => (stream.uniform() < 0.5 ? -1 : 1);

function randomInteger(stream: PhiloxStream, upperInclusive: number): number {
  return Math.min(upperInclusive, Math.floor(stream.uniform() * (upperInclusive + 1)));
}

/** Pseudo-Gaussian rectangle: nested rings around the centre weighted 1/(r+1)^2, unit L2 norm. */
function pseudoGaussian(rows: number, columns: number): Float64Array {
  const bump = new Float64Array(rows * columns);
  const centerRow = Math.floor(rows / 2);
  const centerColumn = Math.floor(columns / 2);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c++) {
      const ring = Math.max(Math.abs(r - centerRow), Math.abs(c - centerColumn));
      for (let k = ring; k <= Math.max(centerRow, centerColumn); k++)
        bump[r * columns + c] += 1 / (k + 1) ** 2;
    }
  }
  return normalized(bump);
}

function normalized(values: Float64Array): Float64Array {
  const length = Math.sqrt(values.reduce((sum, value) => sum + value * value, 0));
  return length > 0 ? values.map((value) => value / length) : values;
}

/** Two opposite pseudo-Gaussian halves of a side x side square, randomly transposed. */
function metaPseudoGaussian(side: number, stream: PhiloxStream): Float64Array {
  const top = Math.floor(side / 2);
  const upper = pseudoGaussian(top, side);
  const lower = pseudoGaussian(side - top, side);
  const square = new Float64Array(side * side);
  square.set(upper, 0);
  lower.forEach((value, index) => (square[top * side + index] = -value));
  const result = normalized(square);
  if (stream.uniform() < 0.5) return result;
  return result.map((_, index) => result[(index % side) * side + Math.floor(index / side)]);
}

/** Visits the (channel, window) cells of a square window. */
function forWindow(
  shape: ImageShape,
  row: number,
  column: number,
  side: number,
  visit: (channel: number, index: number, cell: number) => void,
): void {
  for (let channel = 0; channel < shape.channels; channel++) {
    for (let r = 0; r < side; r++) {
      for (let c = 0; c < side; c++) {
        visit(
          channel,
          channel * shape.height * shape.width + (row + r) * shape.width + column + c,
          r * side + c,
        );
      }
    }
  }
}

function initialPoint(
  clean: Float32Array,
  shape: ImageShape,
  norm: AttackNorm,
  epsilon: number,
  bounds: Bounds,
  stream: PhiloxStream,
): Float32Array {
  const delta = new Float64Array(clean.length);
  if (norm === 'linf') {
    for (let channel = 0; channel < shape.channels; channel++) {
      for (let column = 0; column < shape.width; column++) {
        const value = sign(stream) * epsilon;
        for (let row = 0; row < shape.height; row++) {
          delta[channel * shape.height * shape.width + row * shape.width + column] = value;
        }
      }
    }
  } else {
    const tile = Math.max(1, Math.floor(Math.min(shape.height, shape.width) / 5));
    const startRow = Math.floor((shape.height - tile * Math.floor(shape.height / tile)) / 2);
    const startColumn = Math.floor((shape.width - tile * Math.floor(shape.width / tile)) / 2);
    for (let row = startRow; row + tile <= shape.height; row += tile) {
      for (let column = startColumn; column + tile <= shape.width; column += tile) {
        const bump = metaPseudoGaussian(tile, stream);
        const signs = Array.from({ length: shape.channels }, () => sign(stream));
        forWindow(
          shape,
          row,
          column,
          tile,
          (channel, index, cell) => (delta[index] += signs[channel] * bump[cell]),
        );
      }
    }
    const length = Math.sqrt(delta.reduce((sum, value) => sum + value * value, 0));
    for (let i = 0; i < delta.length; i++) delta[i] *= epsilon / length;
  }
  const point = Float32Array.from(clean, (value, i) => value + delta[i]);
  projectInPlace(point, clean, norm, epsilon, bounds);
  return point;
}

/** What a proposal starts from: the sample's current point and the window side of this iteration. */
interface ProposalInput {
  readonly current: Float32Array;
  readonly clean: Float32Array;
  readonly shape: ImageShape;
  readonly side: number;
  readonly epsilon: number;
  readonly bounds: Bounds;
  readonly stream: PhiloxStream;
}

/** Top-left corner of a uniformly placed side x side window. */
function randomWindow({ shape, side, stream }: ProposalInput): { row: number; column: number } {
  return {
    row: randomInteger(stream, shape.height - side),
    column: randomInteger(stream, shape.width - side),
  };
}

function linfProposal(input: ProposalInput): Float32Array {
  const { current, clean, shape, side, epsilon, bounds, stream } = input;
  const { row, column } = randomWindow(input);
  const proposal = current.slice();
  // A window already at the drawn signs would waste a query: redraw a few times (as the paper's code does).
  for (let attempt = 0; attempt < 10; attempt++) {
    const signs = Array.from({ length: shape.channels }, () => sign(stream));
    let changed = false;
    forWindow(shape, row, column, side, (channel, index) => {
      proposal[index] = clean[index] + signs[channel] * epsilon;
      if (Math.abs(Math.min(bounds.max, Math.max(bounds.min, proposal[index])) - current[index]) > 1e-7)
        changed = true;
    });
    if (changed) break;
  }
  projectInPlace(proposal, clean, 'linf', epsilon, bounds);
  return proposal;
}

function l2Proposal(input: ProposalInput): Float32Array {
  const { current, clean, shape, side, epsilon, bounds, stream } = input;
  const { row, column } = randomWindow(input);
  const { row: row2, column: column2 } = randomWindow(input);
  const delta = Float64Array.from(current, (value, i) => value - clean[i]);
  const imageNormSquared = delta.reduce((sum, value) => sum + value * value, 0);
  const inFirst = new Uint8Array(delta.length);
  forWindow(shape, row, column, side, (_, index) => (inFirst[index] = 1));
  const windowNormSquared = new Float64Array(shape.channels);
  const unionNormSquared = new Float64Array(shape.channels);
  forWindow(shape, row, column, side, (channel, index) => {
    windowNormSquared[channel] += delta[index] ** 2;
    unionNormSquared[channel] += delta[index] ** 2;
  });
  forWindow(shape, row2, column2, side, (channel, index) => {
    if (!inFirst[index]) unionNormSquared[channel] += delta[index] ** 2;
  });
  const bump = metaPseudoGaussian(side, stream);
  const signs = Array.from({ length: shape.channels }, () => sign(stream));
  const unused = Math.max(epsilon * epsilon - imageNormSquared, 0) / shape.channels;
  // New window per channel: old content (unit norm) + a new bump, rescaled to take the union's mass.
  const window = new Float64Array(shape.channels * side * side);
  forWindow(shape, row, column, side, (channel, index, cell) => {
    const old = delta[index] / (1e-10 + Math.sqrt(windowNormSquared[channel]));
    window[channel * side * side + cell] = old + signs[channel] * bump[cell];
  });
  for (let channel = 0; channel < shape.channels; channel++) {
    const part = window.subarray(channel * side * side, (channel + 1) * side * side);
    const length = Math.sqrt(part.reduce((sum, value) => sum + value * value, 0));
    const target = Math.sqrt(unused + unionNormSquared[channel]);
    for (let i = 0; i < part.length; i++) part[i] = length > 0 ? (part[i] / length) * target : 0;
  }
  forWindow(shape, row2, column2, side, (_, index) => (delta[index] = 0));
  forWindow(
    shape,
    row,
    column,
    side,
    (channel, index, cell) => (delta[index] = window[channel * side * side + cell]),
  );
  const length = Math.sqrt(delta.reduce((sum, value) => sum + value * value, 0));
  const proposal = Float32Array.from(
    clean,
    (value, i) => value + (length > 0 ? (delta[i] / length) * epsilon : 0),
  );
  projectInPlace(proposal, clean, 'l2', epsilon, bounds);
  return proposal;
}

function margin(logits: Float32Array, row: number, classes: number, label: number): number {
  let other = -Infinity;
  for (let c = 0; c < classes; c++) if (c !== label) other = Math.max(other, logits[row * classes + c]);
  return logits[row * classes + label] - other;
}

async function squareAttack(
  batch: Tensor,
  labels: Int32Array,
  params: SquareParams,
  oracle: BudgetedOracle,
  context: AttackContext,
): Promise<{ adversarial: Float32Array; success: Uint8Array }> {
  const count = batch.dims[0];
  const size = sampleSize(batch);
  const shape = imageShape(oracle.sampleDims);
  const streams = batchStreams(context, count);
  const clean = (i: number) => sampleView(batch.data, size, i);
  const success = new Uint8Array(count);
  const adversarial = batch.data.slice();
  const current = Array.from({ length: count }, (_, i) =>
    initialPoint(clean(i), shape, params.norm, params.epsilon, context.bounds, streams[i]),
  );
  const best = new Float64Array(count).fill(Infinity);

  // Query the listed proposals; keep those that lower the margin, record successes.
  const evaluate = async (samples: number[], proposals: Float32Array[]) => {
    const logits = await oracle.logits(stackRows(proposals, oracle.sampleDims), samples);
    samples.forEach((i, row) => {
      const value = margin(logits, row, oracle.classes, labels[i]);
      if (value < best[i]) {
        best[i] = value;
        current[i] = proposals[row];
      }
      if (isAdversarial(logits, row, oracle.classes, labels[i])) {
        success[i] = 1;
        adversarial.set(proposals[row], i * size);
      }
    });
  };

  const started = aliveSamples(success, oracle);
  await evaluate(
    started,
    started.map((i) => current[i]),
  );
  for (let iteration = 1; ; iteration++) {
    const alive = aliveSamples(success, oracle);
    if (alive.length === 0) break;
    const p = squareFraction(params.pInit, iteration - 1, params.queryBudget);
    const area = shape.height * shape.width;
    let side = Math.round(Math.sqrt(p * area));
    // Linf keeps the window smaller than the image, but at least one cell (a one-row tabular
    // sample has min(H, W) - 1 = 0): for images this outer max never changes the side.
    if (params.norm === 'linf')
      side = Math.max(1, Math.min(Math.max(side, 1), Math.min(shape.height, shape.width) - 1));
    else
      side = Math.min(
        Math.max(side, 3) + (Math.max(side, 3) % 2 === 0 ? 1 : 0),
        Math.min(shape.height, shape.width),
      );
    const propose = params.norm === 'linf' ? linfProposal : l2Proposal;
    await evaluate(
      alive,
      alive.map((i) =>
        propose({
          current: current[i],
          clean: clean(i),
          shape,
          side,
          epsilon: params.epsilon,
          bounds: context.bounds,
          stream: streams[i],
        }),
      ),
    );
  }
  return { adversarial, success };
}

export const square: AttackModule<SquareParams> = {
  name: 'square',
  version: '1.0.0',
  description: 'Square Attack: score-based random search over square windows (Linf, L2)',
  reference: 'Andriushchenko et al. 2020, Square Attack, ECCV, Algorithms 1-3',
  access: 'score-based',
  params: SquareParams,
  async run(batch, labels, params, model, context) {
    const oracle = oracleForBatch(batch, model, params.queryBudget);
    const { adversarial, success } = await squareAttack(batch, labels, params, oracle, context);
    return finishAttack(batch, adversarial, success, oracle);
  },
};
