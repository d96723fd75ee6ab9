// The op table. Every op is defined once, in one file of compiler/ops/, by an OpDef: its shape rule, its
// CPU reference (the oracle for every GPU kernel), its gradient rule, and, for elementwise ops, the WGSL
// expression it fuses as. Kernels for the non-elementwise ops live in compiler/codegen/ (kernel.ts picks one per op).

import type { Attrs, DType, Node, Shape } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';

/** A tensor value in the reference interpreter: row-major data in f64 (ints are stored exactly). */
export interface RefTensor {
  readonly shape: Shape;
  readonly dtype: DType;
  readonly data: Float64Array;
}

export interface OpDef {
  readonly name: string;
  /** Elementwise ops (incl. broadcasting binary and `where`) fuse freely; others anchor a kernel. */
  readonly kind: 'elementwise' | 'reduce' | 'movement' | 'matmul' | 'composite' | 'leaf' | 'other';
  /** Output shape and dtype, or a message saying why the inputs do not fit (never throws). */
  infer(inputs: readonly Node[], attrs: Attrs): { shape: Shape; dtype: DType } | string;
  /** CPU reference: plain, readable, f64. `round` rounds to the node's dtype (f32/f16) when simulating it. */
  ref(inputs: readonly RefTensor[], attrs: Attrs, out: { shape: Shape; dtype: DType }): Float64Array;
  /**
   * Vector-Jacobian product: given the node and the gradient of its output, build gradient nodes for each
   * input in `g` (null where the input gets no gradient: integer inputs, masks, stop_gradient).
   * `needs[i]` (optional, from autodiff) is false where input i's gradient is not wanted: rules whose
   * input gradients are costly (matmul, attention, conv, norms) skip building those.
   */
  vjp?(g: Graph, node: Node, gradOut: Node, needs?: readonly boolean[]): (Node | null)[];
  /**
   * Elementwise ops: the WGSL expression of one output element from its inputs' expressions (already
   * broadcast and of the node's compute type `ty`, e.g. 'f32' or 'f16').
   */
  wgsl?(args: readonly string[], attrs: Attrs, ty: string): string;
}

const table = new Map<string, OpDef>();

export function defineOp(def: OpDef): OpDef {
  if (table.has(def.name)) throw new Error(`op '${def.name}' defined twice`);
  table.set(def.name, def);
  return def;
}

export function getOp(name: string): OpDef {
  const d = table.get(name);
  if (!d) throw new Error(`unknown op '${name}' (registered: ${[...table.keys()].join(', ')})`);
  return d;
}

export function hasOp(name: string): boolean { return table.has(name); }
export function allOps(): OpDef[] { return [...table.values()]; }
