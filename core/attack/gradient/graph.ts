import type { onnx } from 'onnx-proto';
import { UnsupportedOpError } from './errors';

/**
 * Read access to one node of the decoded forward graph. Attributes are read with their ONNX
 * defaults so gradient rules never have to know whether an exporter wrote a default explicitly.
 */
export class ForwardNode {
  constructor(
    readonly proto: onnx.INodeProto,
    /** Position in the original graph, for stable ordering and names. */
    readonly index: number,
  ) {}

  get opType(): string {
    return this.proto.opType ?? '';
  }

  get name(): string {
    return this.proto.name || `#${this.index}`;
  }

  /** Input names; '' marks an omitted optional input, as in ONNX. */
  get inputs(): readonly string[] {
    return this.proto.input ?? [];
  }

  get outputs(): readonly string[] {
    return this.proto.output ?? [];
  }

  input(index: number): string {
    return this.inputs[index] ?? '';
  }

  private attributeProto(name: string): onnx.IAttributeProto | undefined {
    return (this.proto.attribute ?? []).find((attribute) => attribute.name === name);
  }

  hasAttribute(name: string): boolean {
    return this.attributeProto(name) !== undefined;
  }

  int(name: string, fallback: number): number {
    const value = this.attributeProto(name)?.i;
    return value === undefined || value === null ? fallback : toNumber(value);
  }

  ints(name: string): number[] | undefined {
    const values = this.attributeProto(name)?.ints;
    return values && values.length > 0 ? values.map(toNumber) : undefined;
  }

  float(name: string, fallback: number): number {
    const value = this.attributeProto(name)?.f;
    return value === undefined || value === null ? fallback : value;
  }

  string(name: string, fallback: string): string {
    const value = this.attributeProto(name)?.s;
    return value ? new TextDecoder().decode(value) : fallback;
  }

  /** The error for an attribute value or input the gradient rule does not cover (to throw). */
  unsupported(reason: string): UnsupportedOpError {
    return new UnsupportedOpError(this.opType, this.name, reason);
  }
}

/** protobufjs decodes int64 as number, or as a Long when long.js is installed. */
export function toNumber(value: number | { toNumber(): number }): number {
  return typeof value === 'number' ? value : value.toNumber();
}
