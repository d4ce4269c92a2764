import { onnx } from 'onnx-proto';
import { buildGradientModel, type ScoreKind } from './gradient/builder';
import { GradientModelError, UnsupportedOpError } from './gradient/errors';
import type { AccessVector, AttackModule } from './types';

/**
 * Why an attack cannot be run on a model at all: its access vector asks for something the model
 * does not offer (today: input gradients). Such a cell is a result like any other (stored under
 * its key, reused, re-verified), not an error: the rest of the run goes on.
 */
export interface NotApplicable {
  readonly attack: string;
  readonly access: AccessVector;
  /** What the attack needs that the model lacks. */
  readonly needs: 'input-gradients';
  /** A sentence for people: the op and node, or the domain, that stops the gradient. */
  readonly reason: string;
  /** The op without a gradient rule, its node and (for non-standard ops) its domain, when one is to blame. */
  readonly op?: string;
  readonly node?: string;
  readonly domain?: string;
}

/** Why a model has no input gradient, when it has none. */
export type GradientGap = Omit<NotApplicable, 'attack' | 'access'>;

/** Standard ONNX ops: the empty domain and its alias. */
const isStandardDomain = (domain: string | null | undefined) => !domain || domain === 'ai.onnx';

/** The domain of the node the gradient builder named (`#k` for the k-th node when it has no name). */
function domainOfNode(modelBytes: Uint8Array, nodeName: string): string | undefined {
  const nodes = onnx.ModelProto.decode(modelBytes).graph?.node ?? [];
  const positional = /^#(\d+)$/.exec(nodeName);
  const node = positional ? nodes[Number(positional[1])] : nodes.find((entry) => entry.name === nodeName);
  return isStandardDomain(node?.domain) ? undefined : (node?.domain ?? undefined);
}

/**
 * Decide from the gradient builder itself whether the model has an input gradient: build the
 * cross-entropy gradient model (the ops on the input-to-scores path are the same for every loss)
 * and classify the builder's refusals. Any other error is not a property of the model's graph and
 * is thrown on.
 */
export function gradientGap(
  modelBytes: Uint8Array,
  options: { scores?: ScoreKind } = {},
): GradientGap | undefined {
  try {
    buildGradientModel(modelBytes, 'ce', options.scores ? { scores: options.scores } : {});
    return undefined;
  } catch (error) {
    if (error instanceof UnsupportedOpError) {
      const domain = domainOfNode(modelBytes, error.nodeName);
      const where = `op ${error.opType} (node '${error.nodeName}') is on the path from the input to the scores`;
      return {
        needs: 'input-gradients',
        reason: domain
          ? `ops from domain ${domain} have no gradient rule: ${where}`
          : error.message.replace(/^cannot build an input gradient: /, 'no input gradient: '),
        op: error.opType,
        node: error.nodeName,
        ...(domain && { domain }),
      };
    }
    if (error instanceof GradientModelError) {
      return {
        needs: 'input-gradients',
        reason: error.message.replace(/^cannot build an input gradient: /, 'no input gradient: '),
      };
    }
    throw error;
  }
}

/**
 * Whether `module` can attack a model with this gradient gap. Every white-box attack needs the
 * gradient; score- and decision-based attacks need only the model's outputs.
 *
 * AutoAttack (a white-box ensemble with one black-box member, Square) is not applicable as a
 * whole: its number is the worst case over all four members, and Square alone under AutoAttack's
 * name would read as an AutoAttack robust accuracy, comparable with other models' and far too
 * optimistic. The reason says how to run the black-box member on its own, under its own name.
 */
export async function attackApplicability(
  module: Pick<AttackModule, 'name' | 'access'>,
  gap: () => Promise<GradientGap | undefined> | GradientGap | undefined,
): Promise<NotApplicable | undefined> {
  if (module.access !== 'white-box') return undefined;
  const found = await gap();
  if (!found) return undefined;
  const ensembleNote =
    module.name === 'autoattack-standard'
      ? '; AutoAttack is not run in part: its black-box member alone is not AutoAttack. To measure it, ' +
        "add `- attack: square` with `params: { queryBudget: 5000 }` (AutoAttack's Square) to the spec"
      : '';
  return {
    attack: module.name,
    access: module.access,
    ...found,
    reason: `${module.name} needs input gradients; ${found.reason}${ensembleNote}`,
  };
}
