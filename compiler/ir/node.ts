// The tensor IR's one node type. Nodes are immutable and hash-consed by their Graph: two nodes with the
// same op, inputs and attributes are the same object, so CSE is free and graphs compare by identity.
// Shapes are static numbers; dims that vary at run time (sequence length, cache position) are declared at
// their maximum and passed as `dyn` scalar inputs where a kernel needs the live value.

export type DType = 'f32' | 'f16' | 'i32' | 'u32';
export type Shape = readonly number[];
/** Attribute values: plain JSON data, so they hash, print and serialise. */
export type AttrValue = number | string | boolean | null | readonly number[] | readonly string[];
export type Attrs = Readonly<Record<string, AttrValue>>;

/** What a leaf node is: a graph input fed per step, a trainable parameter, persistent state, or a constant. */
export type LeafKind = 'input' | 'param' | 'state' | 'const';

export interface Node {
  readonly id: number;              // unique in its graph, increasing in creation order (a topological order)
  readonly op: string;              // a name registered in compiler/ops (leaves use 'input' | 'param' | 'const')
  readonly inputs: readonly Node[];
  readonly attrs: Attrs;
  readonly shape: Shape;
  readonly dtype: DType;
  readonly name?: string;           // leaves: the parameter/input name, e.g. 'decoder.layers.3.attn.wq'
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** Row-major strides of a contiguous tensor. */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) { s[i] = acc; acc *= shape[i]!; }
  return s;
}

export const isFloat = (t: DType): boolean => t === 'f32' || t === 'f16';
