// Shared helpers for the op definitions: attribute access, axis normalisation, numpy broadcasting (shape
// rule and reference index maps), dtype rules, and `unbroadcast`, which every VJP uses to sum a gradient
// back down to the shape of an input that was broadcast.

import type { Attrs, AttrValue, DType, Node, Shape } from '../ir/node.js';
import { isFloat, numel, stridesOf } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';

// ── attributes ─────────────────────────────────────────────────────────────────────────────────────
export function num(attrs: Attrs, key: string, dflt?: number): number {
  const v: AttrValue | undefined = attrs[key];
  if (typeof v === 'number') return v;
  if (dflt !== undefined) return dflt;
  return NaN;
}
export function nums(attrs: Attrs, key: string): number[] {
  const v = attrs[key];
  return Array.isArray(v) ? (v as number[]).map(Number) : [];
}
export function bool(attrs: Attrs, key: string): boolean { return attrs[key] === true; }

// ── shapes and axes ────────────────────────────────────────────────────────────────────────────────
/** Normalise a possibly negative axis; null when out of range. */
export function normAxis(axis: number, rank: number): number | null {
  if (!Number.isInteger(axis)) return null;
  const a = axis < 0 ? axis + rank : axis;
  return a >= 0 && a < rank ? a : null;
}

/** Normalised, sorted, unique axes, or an error string. */
export function normAxes(axes: readonly number[], rank: number): number[] | string {
  const out = new Set<number>();
  for (const ax of axes) {
    const a = normAxis(ax, rank);
    if (a === null) return `axis ${ax} out of range for rank ${rank}`;
    out.add(a);
  }
  return [...out].sort((x, y) => x - y);
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function isInt(t: DType): boolean { return t === 'i32' || t === 'u32'; }

/** numpy broadcasting of several shapes (aligned at the right; a dim must match or be 1). */
export function broadcastShapes(shapes: readonly Shape[]): number[] | string {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (out[o] === 1) out[o] = d;
      else if (d !== 1 && d !== out[o]) return `shapes [${shapes.map((x) => x.join(',')).join('] [')}] do not broadcast`;
    }
  }
  return out;
}

/** For each flat index of `shape` (row-major), the offset Σ idx[k]·strides[k]: the one loop behind
 *  broadcasting, permutes, boxes and reductions in the references (an odometer, no divisions). */
export function strideWalk(shape: Shape, strides: readonly number[], base = 0): Int32Array {
  const n = numel(shape);
  const map = new Int32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  let off = base;
  for (let i = 0; i < n; i++) {
    map[i] = off;
    for (let ax = shape.length - 1; ax >= 0; ax--) {
      idx[ax]!++;
      off += strides[ax]!;
      if (idx[ax]! < shape[ax]!) break;
      off -= strides[ax]! * shape[ax]!;
      idx[ax] = 0;
    }
  }
  return map;
}

/** For each flat index of `outShape`, the flat index of the broadcast input of shape `inShape`. */
export function broadcastMap(inShape: Shape, outShape: Shape): Int32Array {
  const inStr = stridesOf(inShape);
  const lead = outShape.length - inShape.length;
  // Input stride per output axis: 0 on prepended and broadcast (size-1) axes.
  return strideWalk(outShape, outShape.map((_, o) => (o < lead || inShape[o - lead] === 1 ? 0 : inStr[o - lead]!)));
}

/** Multi-index of a flat index in a row-major shape. */
export function unravel(i: number, shape: Shape): number[] {
  const idx = new Array<number>(shape.length);
  for (let ax = shape.length - 1; ax >= 0; ax--) { idx[ax] = i % shape[ax]!; i = Math.floor(i / shape[ax]!); }
  return idx;
}

/** The positions along one axis: `outer × inner` rows of `n` elements `stride` apart, from `base(r)`. */
export function axisRows(shape: Shape, axis: number): { rows: number; n: number; stride: number; base(r: number): number } {
  const n = shape[axis]!;
  let outer = 1, inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i]!;
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i]!;
  return { rows: outer * inner, n, stride: inner, base: (r) => Math.floor(r / inner) * n * inner + (r % inner) };
}

// ── dtypes ─────────────────────────────────────────────────────────────────────────────────────────
/** Elementwise result dtype: the first float input's, else the first input's. */
export function resultDtype(inputs: readonly Node[]): DType {
  return inputs.find((n) => isFloat(n.dtype))?.dtype ?? inputs[0]?.dtype ?? 'f32';
}

export function wgslType(t: DType): string { return t; }

// ── gradient helpers ───────────────────────────────────────────────────────────────────────────────
/** Sum `grad` (of a broadcast result's shape) back to `shape`: over prepended axes and size-1 axes. */
export function unbroadcast(g: Graph, grad: Node, shape: Shape): Node {
  if (sameShape(grad.shape, shape)) return grad;
  const lead = grad.shape.length - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < grad.shape.length; i++) {
    if (i < lead || (shape[i - lead] === 1 && grad.shape[i] !== 1)) axes.push(i);
  }
  const s = axes.length ? g.sum(grad, axes, false) : grad;
  return sameShape(s.shape, shape) ? s : g.reshape(s, shape);
}

/** A zero tensor of `shape` (a broadcast scalar: free after fusion). */
export function zeros(g: Graph, shape: Shape, dtype: DType = 'f32'): Node {
  const z = g.scalar(0, dtype);
  return shape.length ? g.expand(z, shape) : z;
}

/** Reshape a reduced tensor (keepdims=false) back to the keepdims shape, then expand to `full`. */
export function expandBack(g: Graph, reduced: Node, full: Shape, axes: readonly number[]): Node {
  const kept = full.map((d, i) => (axes.includes(i) ? 1 : d));
  const r = sameShape(reduced.shape, kept) ? reduced : g.reshape(reduced, kept);
  return sameShape(kept, full) ? r : g.expand(r, full);
}
