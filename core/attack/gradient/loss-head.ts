import type { AttackLoss } from '../types';
import { DLR_EPSILON } from '../losses';
import { FLOAT, type GraphEmitter } from './emitter';

/**
 * The attack losses of core/attack/losses.ts as ONNX nodes on the logits z [N, C], with their
 * gradient dL/dz written out by hand (the head is small and fixed, so no autodiff is needed):
 *
 *   ce           L = logsumexp(z) - z_y                dL/dz = softmax(z) - onehot(y)
 *   ce-targeted  L = z_t - logsumexp(z)                dL/dz = onehot(t) - softmax(z)
 *   dlr          L = -(z_y - max_{i != y} z_i) / D,    D = z_pi1 - z_pi3 + eps
 *   dlr-targeted L = -(z_y - z_t) / D,                 D = z_pi1 - (z_pi3 + z_pi4) / 2 + eps
 *
 * For the DLR forms, with L = -M / D: dL/dz = -(dM/dz + L dD/dz) / D, where dM/dz and dD/dz are
 * signed one-hot rows (pi sorts the logits decreasingly; TopK picks among ties).
 */
export interface LossHead {
  /** Per-sample loss, [N]. */
  readonly loss: string;
  /** dL/dz, [N, C]. */
  readonly logitsGradient: string;
}

export function emitLossHead(
  emit: GraphEmitter,
  logits: string,
  labels: string,
  targets: string | undefined,
  loss: AttackLoss,
): LossHead {
  const head = new HeadBuilder(emit, logits);
  const labelColumn = emit.unsqueeze(labels, [1]);
  const targetColumn = () => {
    if (!targets) throw new Error(`the ${loss} loss needs a targets input`);
    return emit.unsqueeze(targets, [1]);
  };
  const column = (() => {
    switch (loss) {
      case 'ce':
        return head.crossEntropy(labelColumn);
      case 'ce-targeted': {
        const toTarget = head.crossEntropy(targetColumn());
        return { loss: emit.neg(toTarget.loss), logitsGradient: emit.neg(toTarget.logitsGradient) };
      }
      case 'dlr': {
        const others = emit.op('Where', [head.oneHot(labelColumn), emit.floatScalar(-Infinity), logits]);
        const runnerUp = emit.op('ArgMax', [others], { axis: { int: 1 }, keepdims: { int: 1 } });
        return head.dlr(labelColumn, runnerUp, [2]);
      }
      case 'dlr-targeted':
        return head.dlr(labelColumn, targetColumn(), [2, 3]);
    }
  })();
  return { loss: emit.squeeze(column.loss, [1]), logitsGradient: column.logitsGradient };
}

class HeadBuilder {
  private classIndices?: string;

  constructor(
    private readonly emit: GraphEmitter,
    private readonly logits: string,
  ) {}

  /** [N, C] bool, true at the class in each row of an int64 column [N, 1]. */
  oneHot(column: string): string {
    const emit = this.emit;
    if (!this.classIndices) {
      const classes = emit.op('Gather', [emit.shape(this.logits), emit.int64Scalar(1)]);
      this.classIndices = emit.op('Range', [emit.int64Scalar(0), classes, emit.int64Scalar(1)]);
    }
    return emit.op('Equal', [column, this.classIndices]);
  }

  oneHotFloat(column: string): string {
    return this.emit.cast(this.oneHot(column), FLOAT);
  }

  /** z at the class of each row of an int64 column: [N, 1]. */
  pick(column: string): string {
    return this.emit.op('GatherElements', [this.logits, column], { axis: { int: 1 } });
  }

  /**
   * CE towards the class in `column`, accurate also when it is tiny (a confident correct
   * prediction): with m = max z and s = sum of exp(z_i - m) over all but the arg max,
   * logsumexp(z) - z_y = log1p(s) + (m - z_y), and log1p(s) = log(u) s / (u - 1) with u = 1 + s
   * (exact where u rounds to 1). The gradient's entry at y, softmax_y - 1, is likewise computed
   * as minus the sum of the other probabilities instead of by cancellation.
   */
  crossEntropy(column: string): { loss: string; logitsGradient: string } {
    const emit = this.emit;
    const z = this.logits;
    const one = emit.floatScalar(1);
    const max = emit.reduceMax(z, [1], true);
    const exps = emit.op('Exp', [emit.sub(z, max)]);
    const argMax = emit.op('ArgMax', [z], { axis: { int: 1 }, keepdims: { int: 1 } });
    const notArgMax = emit.op('Not', [this.oneHot(argMax)]);
    const rest = emit.reduceSum(emit.op('Where', [notArgMax, exps, emit.floatScalar(0)]), [1], true);
    const total = emit.add(one, rest);
    const log1pRest = emit.op('Where', [
      emit.op('Equal', [total, one]),
      rest,
      emit.div(emit.mul(emit.op('Log', [total]), rest), emit.sub(total, one)),
    ]);
    const loss = emit.add(log1pRest, emit.sub(max, this.pick(column)));
    const isLabel = this.oneHot(column);
    const others = emit.op('Where', [isLabel, emit.floatScalar(0), emit.div(exps, total)]);
    const labelEntry = emit.neg(emit.reduceSum(others, [1], true));
    return { loss, logitsGradient: emit.op('Where', [isLabel, labelEntry, others]) };
  }

  /**
   * DLR with numerator M = z_y - z_other (the best other class, or the target) and denominator
   * D = z_pi1 - mean(z_pi_k for k in `tail`) + eps, k counted from 0.
   */
  dlr(
    labelColumn: string,
    otherColumn: string,
    tail: readonly number[],
  ): { loss: string; logitsGradient: string } {
    const emit = this.emit;
    const [values, order] = emit.ops('TopK', [this.logits, emit.int64s([tail[tail.length - 1] + 1])], 2, {
      axis: { int: 1 },
    });
    const column = (tensor: string, k: number) => emit.slice(tensor, [k], [k + 1], [1]);
    const mean = (sum: string) =>
      tail.length === 1 ? sum : emit.mul(sum, emit.floatScalar(1 / tail.length));
    const tailValues = emit.sum(tail.map((k) => column(values, k)));
    const tailOneHots = emit.sum(tail.map((k) => this.oneHotFloat(column(order, k))));
    const denominator = emit.add(
      emit.sub(column(values, 0), mean(tailValues)),
      emit.floatScalar(DLR_EPSILON),
    );
    const numerator = emit.sub(this.pick(labelColumn), this.pick(otherColumn));
    const loss = emit.div(emit.neg(numerator), denominator);
    const numeratorGradient = emit.sub(this.oneHotFloat(labelColumn), this.oneHotFloat(otherColumn));
    const denominatorGradient = emit.sub(this.oneHotFloat(column(order, 0)), mean(tailOneHots));
    const logitsGradient = emit.div(
      emit.neg(emit.add(numeratorGradient, emit.mul(loss, denominatorGradient))),
      denominator,
    );
    return { loss, logitsGradient };
  }
}
