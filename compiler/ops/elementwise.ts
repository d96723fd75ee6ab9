// Elementwise ops: scalar constants, broadcasting binary ops, compare/where, unary math, cast and
// stop_gradient, plus the fused backward ops of the activations (silu_grad, gelu_*_grad) so the backward
// graph of an MLP stays a few fusable elementwise nodes. Each op carries its WGSL expression.

import type { Attrs, DType, Node } from '../ir/node.js';
import { isFloat } from '../ir/node.js';
import type { Graph } from '../ir/graph.js';
import { defineOp, type RefTensor } from './registry.js';
import { broadcastMap, broadcastShapes, resultDtype, unbroadcast, wgslType } from './util.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const GELU_C = 0.044715;

/** erf to full double precision: the everywhere-convergent series 2/√π·e^{-x²}·Σ 2ⁿx^{2n+1}/(2n+1)!!
 *  has only positive terms (no cancellation); beyond |x| = 6, erf is ±1 in f64. */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax, sum = ax;
  for (let n = 1; n < 200 && term > sum * 1e-17; n++) { term *= (2 * ax * ax) / (2 * n + 1); sum += term; }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * sum;
}

/** WGSL has no erf: Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7, below f32 resolution of the result). */
function wgslErf(x: string, ty: string): string {
  const L = (v: number): string => `${ty}(${v})`;
  const t = `(${L(1)} / (${L(1)} + ${L(0.3275911)} * abs(${x})))`;
  const poly = `(${t} * (${L(0.254829592)} + ${t} * (${L(-0.284496736)} + ${t} * (${L(1.421413741)} + ${t} * (${L(-1.453152027)} + ${t} * ${L(1.061405429)})))))`;
  return `(sign(${x}) * (${L(1)} - ${poly} * exp(-(${x}) * (${x}))))`;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const geluTanh = (x: number): number => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x)));
const geluTanhDeriv = (x: number): number => {
  const th = Math.tanh(SQRT_2_OVER_PI * (x + GELU_C * x * x * x));
  return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * SQRT_2_OVER_PI * (1 + 3 * GELU_C * x * x);
};
const geluErfDeriv = (x: number): number => 0.5 * (1 + erf(x / Math.SQRT2)) + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);

/** Reference of an n-ary broadcasting elementwise op (arity 1–3; inputs read through broadcast maps). */
function mapRef(f: (a: number, b: number, c: number) => number) {
  return (ins: readonly RefTensor[], _a: Attrs, out: { shape: readonly number[] }): Float64Array => {
    const n = out.shape.reduce((p, d) => p * d, 1);
    const read = ins.map((t) => {
      if (t.data.length === n) return (i: number) => t.data[i]!;            // same shape: no map needed
      const m = broadcastMap(t.shape, out.shape);
      return (i: number) => t.data[m[i]!]!;
    });
    const [ra, rb, rc] = [read[0], read[1] ?? (() => 0), read[2] ?? (() => 0)];
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) r[i] = f(ra!(i), rb(i), rc(i));
    return r;
  };
}

function inferBroadcast(inputs: readonly Node[], dtype?: DType): { shape: number[]; dtype: DType } | string {
  const s = broadcastShapes(inputs.map((n) => n.shape));
  return typeof s === 'string' ? s : { shape: s, dtype: dtype ?? resultDtype(inputs) };
}

// ── scalar ─────────────────────────────────────────────────────────────────────────────────────────
defineOp({
  name: 'scalar', kind: 'elementwise',
  infer: (ins, a) => (ins.length !== 0 ? 'scalar takes no inputs' : typeof a.value !== 'number' ? 'scalar needs a numeric value' : { shape: [], dtype: (a.dtype as DType | undefined) ?? 'f32' }),
  ref: (_i, a) => Float64Array.of(a.value as number),
  vjp: () => [],
  wgsl: (_args, a, ty) => {
    const v = a.value as number;
    // WGSL const-expressions may not be inf/NaN: infinities clamp to the largest finite value of the type.
    if (!Number.isFinite(v)) return `${ty}(${v > 0 ? '' : '-'}${ty === 'f16' ? '65504.0' : '3.4028234663852886e38'})`;
    return ty === 'i32' || ty === 'u32' ? `${ty}(${Math.trunc(v)})` : `${ty}(${Number.isInteger(v) ? v.toFixed(1) : String(v)})`;
  },
});

// ── binary (numpy broadcasting) ────────────────────────────────────────────────────────────────────
type BinVjp = (g: Graph, node: Node, gy: Node) => [Node | null, Node | null];
function binary(name: string, f: (a: number, b: number) => number, wgsl: (a: string, b: string, ty: string) => string, vjp: BinVjp): void {
  defineOp({
    name, kind: 'elementwise',
    infer: (ins) => (ins.length !== 2 ? `${name} takes 2 inputs` : inferBroadcast(ins)),
    ref: mapRef(f),
    vjp: (g, node, gy) => {
      const [da, db] = vjp(g, node, gy);
      const [a, b] = node.inputs as [Node, Node];
      return [da && isFloat(a.dtype) ? unbroadcast(g, g.cast(da, a.dtype), a.shape) : null,
              db && isFloat(b.dtype) ? unbroadcast(g, g.cast(db, b.dtype), b.shape) : null];
    },
    wgsl: ([a, b], _attrs, ty) => wgsl(a!, b!, ty),
  });
}
const ins2 = (n: Node): [Node, Node] => n.inputs as [Node, Node];

binary('add', (a, b) => a + b, (a, b) => `(${a} + ${b})`, (_g, _n, gy) => [gy, gy]);
binary('sub', (a, b) => a - b, (a, b) => `(${a} - ${b})`, (g, _n, gy) => [gy, g.neg(gy)]);
binary('mul', (a, b) => a * b, (a, b) => `(${a} * ${b})`, (g, n, gy) => { const [a, b] = ins2(n); return [g.mul(gy, b), g.mul(gy, a)]; });
// d(a/b)/db = -a/b² = -out/b
binary('div', (a, b) => a / b, (a, b) => `(${a} / ${b})`, (g, n, gy) => { const [, b] = ins2(n); return [g.div(gy, b), g.neg(g.div(g.mul(gy, n), b))]; });
// Ties send the whole gradient to a (a >= b for maximum, a <= b for minimum).
binary('maximum', (a, b) => Math.max(a, b), (a, b) => `max(${a}, ${b})`, (g, n, gy) => {
  const [a, b] = ins2(n);
  return [g.mul(gy, g.compare(a, b, 'ge')), g.mul(gy, g.compare(a, b, 'lt'))];
});
binary('minimum', (a, b) => Math.min(a, b), (a, b) => `min(${a}, ${b})`, (g, n, gy) => {
  const [a, b] = ins2(n);
  return [g.mul(gy, g.compare(a, b, 'le')), g.mul(gy, g.compare(a, b, 'gt'))];
});
// d(a^b)/da = b·a^(b-1); d(a^b)/db = a^b·ln a (defined for a > 0)
binary('pow', (a, b) => Math.pow(a, b), (a, b) => `pow(${a}, ${b})`, (g, n, gy) => {
  const [a, b] = ins2(n);
  const one = g.scalar(1, n.dtype);
  return [g.mul(gy, g.mul(b, g.pow(a, g.sub(b, one)))), g.mul(gy, g.mul(n, g.log(a)))];
});

const CMP: Record<string, [(a: number, b: number) => boolean, string]> = {
  lt: [(a, b) => a < b, '<'], le: [(a, b) => a <= b, '<='], gt: [(a, b) => a > b, '>'],
  ge: [(a, b) => a >= b, '>='], eq: [(a, b) => a === b, '=='], ne: [(a, b) => a !== b, '!='],
};
defineOp({
  name: 'compare', kind: 'elementwise',
  infer: (ins, a) => (ins.length !== 2 ? 'compare takes 2 inputs' : !CMP[a.cmp as string] ? `unknown cmp '${String(a.cmp)}'` : inferBroadcast(ins, 'f32')),
  ref: (ins, a, out) => { const f = CMP[a.cmp as string]![0]; return mapRef((x, y) => (f(x, y) ? 1 : 0))(ins, a, out); },
  vjp: () => [null, null],
  wgsl: ([a, b], attrs, ty) => `select(${ty}(0.0), ${ty}(1.0), ${a} ${CMP[attrs.cmp as string]![1]} ${b})`,
});

defineOp({
  name: 'where', kind: 'elementwise',
  infer: (ins) => (ins.length !== 3 ? 'where takes 3 inputs (cond, a, b)' : inferBroadcast(ins, resultDtype(ins.slice(1)))),
  ref: mapRef((c, a, b) => (c !== 0 ? a : b)),
  vjp: (g, node, gy) => {
    const [c, a, b] = node.inputs as [Node, Node, Node];
    const z = g.scalar(0, gy.dtype);
    return [null,
      isFloat(a.dtype) ? unbroadcast(g, g.where(c, gy, z), a.shape) : null,
      isFloat(b.dtype) ? unbroadcast(g, g.where(c, z, gy), b.shape) : null];
  },
  wgsl: ([c, a, b], _attrs, ty) => `select(${b}, ${a}, ${c} != ${ty}(0))`,
});

// ── unary ──────────────────────────────────────────────────────────────────────────────────────────
type UnVjp = (g: Graph, node: Node, gy: Node, x: Node) => Node;
function unary(name: string, f: (x: number) => number, wgsl: (x: string, ty: string) => string, vjp: UnVjp, intOk = false): void {
  defineOp({
    name, kind: 'elementwise',
    infer: (ins) => (ins.length !== 1 ? `${name} takes 1 input` : !intOk && !isFloat(ins[0]!.dtype) ? `${name} needs a float input` : { shape: ins[0]!.shape, dtype: ins[0]!.dtype }),
    ref: mapRef(f),
    vjp: (g, node, gy) => [isFloat(node.dtype) ? vjp(g, node, gy, node.inputs[0]!) : null],
    wgsl: ([x], _a, ty) => wgsl(x!, ty),
  });
}
const one = (g: Graph, n: Node): Node => g.scalar(1, n.dtype);

unary('neg', (x) => -x, (x) => `(-${x})`, (g, _n, gy) => g.neg(gy), true);
unary('abs', Math.abs, (x) => `abs(${x})`, (g, _n, gy, x) => g.where(g.compare(x, g.scalar(0, x.dtype), 'lt'), g.neg(gy), gy), true);
unary('exp', Math.exp, (x) => `exp(${x})`, (g, n, gy) => g.mul(gy, n));
unary('log', Math.log, (x) => `log(${x})`, (g, _n, gy, x) => g.div(gy, x));
unary('sqrt', Math.sqrt, (x) => `sqrt(${x})`, (g, n, gy) => g.div(g.mul(gy, g.scalar(0.5, n.dtype)), n));
// d x^{-1/2} = -½ x^{-3/2} = -½ out³
unary('rsqrt', (x) => 1 / Math.sqrt(x), (x) => `inverseSqrt(${x})`, (g, n, gy) => g.mul(g.mul(gy, g.scalar(-0.5, n.dtype)), g.mul(n, g.unary('square', n))));
unary('recip', (x) => 1 / x, (x, ty) => `(${ty}(1.0) / ${x})`, (g, n, gy) => g.neg(g.mul(gy, g.unary('square', n))));
unary('tanh', Math.tanh, (x) => `tanh(${x})`, (g, n, gy) => g.mul(gy, g.sub(one(g, n), g.unary('square', n))));
unary('sigmoid', sigmoid, (x, ty) => `(${ty}(1.0) / (${ty}(1.0) + exp(-${x})))`, (g, n, gy) => g.mul(gy, g.mul(n, g.sub(one(g, n), n))));
unary('silu', (x) => x * sigmoid(x), (x, ty) => `(${x} / (${ty}(1.0) + exp(-${x})))`, (g, _n, gy, x) => g.op('silu_grad', [x, gy]));
unary('gelu_tanh', geluTanh,
  (x, ty) => `(${ty}(0.5) * ${x} * (${ty}(1.0) + tanh(${ty}(${SQRT_2_OVER_PI}) * (${x} + ${ty}(${GELU_C}) * ${x} * ${x} * ${x}))))`,
  (g, _n, gy, x) => g.op('gelu_tanh_grad', [x, gy]));
unary('gelu_erf', (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  (x, ty) => `(${ty}(0.5) * ${x} * (${ty}(1.0) + ${wgslErf(`(${x} * ${ty}(${Math.SQRT1_2}))`, ty)}))`,
  (g, _n, gy, x) => g.op('gelu_erf_grad', [x, gy]));
unary('relu', (x) => Math.max(x, 0), (x, ty) => `max(${x}, ${ty}(0))`, (g, _n, gy, x) => g.mul(gy, g.compare(x, g.scalar(0, x.dtype), 'gt')), true);
unary('square', (x) => x * x, (x) => `(${x} * ${x})`, (g, _n, gy, x) => g.mul(gy, g.mul(x, g.scalar(2, x.dtype))), true);

// ── fused activation backward ops: (x, dy) → dy · f'(x) ───────────────────────────────────────────
function actGrad(name: string, deriv: (x: number) => number, wgsl: (x: string, ty: string) => string): void {
  defineOp({
    name, kind: 'elementwise',
    infer: (ins) => (ins.length !== 2 ? `${name} takes (x, dy)` : inferBroadcast(ins)),
    ref: mapRef((x, dy) => dy * deriv(x)),
    wgsl: ([x, dy], _a, ty) => `(${dy} * ${wgsl(x!, ty)})`,
  });
}
// silu'(x) = s·(1 + x·(1 - s))
actGrad('silu_grad', (x) => { const s = sigmoid(x); return s * (1 + x * (1 - s)); },
  (x, ty) => `((${ty}(1.0) / (${ty}(1.0) + exp(-${x}))) * (${ty}(1.0) + ${x} * (${ty}(1.0) - ${ty}(1.0) / (${ty}(1.0) + exp(-${x})))))`);
actGrad('gelu_tanh_grad', geluTanhDeriv, (x, ty) => {
  const th = `tanh(${ty}(${SQRT_2_OVER_PI}) * (${x} + ${ty}(${GELU_C}) * ${x} * ${x} * ${x}))`;
  return `(${ty}(0.5) * (${ty}(1.0) + ${th}) + ${ty}(0.5) * ${x} * (${ty}(1.0) - ${th} * ${th}) * ${ty}(${SQRT_2_OVER_PI}) * (${ty}(1.0) + ${ty}(${3 * GELU_C}) * ${x} * ${x}))`;
});
// gelu_erf'(x) = Φ(x) + x·φ(x)
actGrad('gelu_erf_grad', geluErfDeriv,
  (x, ty) => `(${ty}(0.5) * (${ty}(1.0) + ${wgslErf(`(${x} * ${ty}(${Math.SQRT1_2}))`, ty)}) + ${x} * exp(${ty}(-0.5) * ${x} * ${x}) * ${ty}(${1 / Math.sqrt(2 * Math.PI)}))`);

// ── cast and stop_gradient ─────────────────────────────────────────────────────────────────────────
defineOp({
  name: 'cast', kind: 'elementwise',
  infer: (ins, a) => (ins.length !== 1 ? 'cast takes 1 input' : !['f32', 'f16', 'i32', 'u32'].includes(a.dtype as string) ? `bad dtype '${String(a.dtype)}'` : { shape: ins[0]!.shape, dtype: a.dtype as DType }),
  // float → int truncates toward zero; f16 rounding is applied by the evaluator from the node's dtype.
  ref: (ins, a) => { const d = ins[0]!.data; return a.dtype === 'i32' || a.dtype === 'u32' ? d.map(Math.trunc) : Float64Array.from(d); },
  vjp: (g, node, gy) => [isFloat(node.inputs[0]!.dtype) && isFloat(node.dtype) ? g.cast(gy, node.inputs[0]!.dtype) : null],
  wgsl: ([x], a) => `${wgslType(a.dtype as DType)}(${x})`,
});

defineOp({
  name: 'stop_gradient', kind: 'elementwise',
  infer: (ins) => (ins.length !== 1 ? 'stop_gradient takes 1 input' : { shape: ins[0]!.shape, dtype: ins[0]!.dtype }),
  ref: (ins) => Float64Array.from(ins[0]!.data),
  vjp: () => [null],
  wgsl: ([x]) => x!,
});

