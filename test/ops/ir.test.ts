// IR utilities around the ops: the op table's completeness and never-throwing shape rules (fuzzed with
// fast-check), verify, print, deterministic init, and the reference evaluator (lazy evaluation, f32/f16
// rounding, integer truncation, constants, evaluateStep's assigns).

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Graph, initLeaf, printGraph, printNode, verifyGraph } from '../../compiler/ir/index.js';
import type { AttrValue, DType, Node } from '../../compiler/ir/index.js';
import { allOps, getOp } from '../../compiler/ops/index.js';
import { evaluate, evaluateStep } from '../../runtime/reference.js';

const FORWARD = ['scalar', 'add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'pow', 'compare', 'where', 'neg', 'abs', 'exp', 'log', 'sqrt', 'rsqrt', 'recip', 'tanh', 'sigmoid', 'silu', 'gelu_tanh', 'gelu_erf', 'relu', 'square', 'cast', 'stop_gradient', 'sum', 'mean', 'max', 'logsumexp', 'matmul', 'reshape', 'permute', 'expand', 'slice', 'pad', 'concat', 'gather', 'scatter_add', 'topk', 'take_along', 'one_hot', 'cumsum', 'conv2d', 'adaptive_avg_pool2d', 'softmax', 'log_softmax', 'layernorm', 'layernorm2d', 'rmsnorm', 'rope', 'attention', 'cache_write', 'cross_entropy'];

describe('op table', () => {
  it('defines every op of the Graph vocabulary with infer, ref and vjp', () => {
    for (const name of FORWARD) {
      const d = getOp(name);
      expect(typeof d.infer, name).toBe('function');
      expect(typeof d.ref, name).toBe('function');
      expect(typeof d.vjp, name).toBe('function');
      if (d.kind === 'elementwise') expect(typeof d.wgsl, name).toBe('function');
    }
  });
  it('shape rules never throw, whatever the inputs and attributes', () => {
    let n = 0;
    const fake = (shape: number[], dtype: DType): Node => ({ id: n++, op: 'input', inputs: [], attrs: {}, shape, dtype, name: `f${n}` });
    const node = fc.tuple(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 5 }), fc.constantFrom<DType>('f32', 'f16', 'i32')).map(([s, t]) => fake(s, t));
    const val: fc.Arbitrary<AttrValue> = fc.oneof(fc.integer({ min: -3, max: 5 }), fc.boolean(), fc.constant('lt'), fc.constant(null), fc.array(fc.integer({ min: -2, max: 4 }), { maxLength: 4 }));
    const attrs = fc.dictionary(fc.constantFrom('axes', 'axis', 'keepdims', 'shape', 'perm', 'start', 'end', 'before', 'after', 'k', 'n', 'rows', 'stride', 'padding', 'groups', 'oh', 'ow', 'eps', 'theta', 'causal', 'hasSeg', 'hasPos', 'len', 'cmp', 'dtype', 'value', 'transA', 'inH', 'inW', 'kh', 'kw'), val);
    const names = allOps().map((o) => o.name);
    fc.assert(fc.property(fc.constantFrom(...names), fc.array(node, { maxLength: 7 }), attrs, (op, ins, a) => {
      const r = getOp(op).infer(ins, a);
      return typeof r === 'string' || (Array.isArray(r.shape) && r.shape.every((d) => Number.isInteger(d)));
    }), { numRuns: 3000 });
  });
});

describe('verify and print', () => {
  it('prints nodes with attrs, leaf names and types', () => {
    const g = new Graph();
    const a = g.input('x', [4, 8]), w = g.param('wq', [64, 8], { kind: 'normal', std: 0.02 });
    const m = g.matmul(a, w, { transB: true });
    expect(printNode(m)).toBe(`%${m.id} = matmul(%${a.id}, %${w.id}) {transB} : f32[4, 64]`);
    g.output('y', m);
    const text = printGraph(g);
    expect(text).toContain(`%${w.id} = param "wq" init=normal(0.02) : f32[64, 8]`);
    expect(text).toContain(`output y = %${m.id}`);
  });
  it('accepts well-formed graphs and reports corrupted ones', () => {
    const g = new Graph();
    const x = g.input('x', [2, 3]);
    const y = g.sum(g.exp(x), [1]);
    expect(verifyGraph(g)).toEqual([]);
    // A node whose recorded shape disagrees with its op's rule, and one that uses a later node.
    g.nodes.push(Object.freeze({ id: 100, op: 'exp', inputs: [y], attrs: {}, shape: [5], dtype: 'f32' as const }));
    g.nodes.push(Object.freeze({ id: 101, op: 'neg', inputs: [{ ...x, id: 999 }], attrs: {}, shape: [2, 3], dtype: 'f32' as const }));
    const errs = verifyGraph(g);
    expect(errs.some((e) => /re-inferred f32\[2\]/.test(e))).toBe(true);
    expect(errs.some((e) => /does not precede/.test(e))).toBe(true);
  });
});

describe('initLeaf', () => {
  it('is deterministic in (seed, name) and truncates the normal at ±2σ', () => {
    const init = { kind: 'normal', std: 0.5 } as const;
    const a = initLeaf('layers.0.wq', [4000], init, 7);
    expect(Array.from(initLeaf('layers.0.wq', [4000], init, 7))).toEqual(Array.from(a));
    expect(initLeaf('layers.1.wq', [4000], init, 7)[0]).not.toBe(a[0]);
    expect(initLeaf('layers.0.wq', [4000], init, 8)[0]).not.toBe(a[0]);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(1.0);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const std = Math.sqrt(a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length);
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(Math.abs(std - 0.5 * 0.8796)).toBeLessThan(0.02);            // std of N(0,1) truncated at ±2
    expect(Array.from(initLeaf('b', [3], { kind: 'const', value: 2 }, 0))).toEqual([2, 2, 2]);
    expect(Array.from(initLeaf('b', [2], { kind: 'ones' }, 0))).toEqual([1, 1]);
  });
});

describe('reference evaluator', () => {
  it('evaluates only what the outputs need, with constants and unfed params from their init', () => {
    const g = new Graph();
    const x = g.input('x', [2]), unused = g.input('never_fed', [2]);
    g.neg(unused);
    const c = g.constant('c', [2], Float64Array.of(10, 20));
    const p = g.param('p', [2], { kind: 'const', value: 3 });
    const y = g.add(g.mul(x, p), c);
    expect(Array.from(evaluate(g, new Map([['x', Float64Array.of(1, 2)]]), [y]).get(y)!.data)).toEqual([13, 26]);
    expect(() => evaluate(g, new Map(), [y])).toThrow(/no value fed for input "x"/);
  });
  it('f32 mode rounds results to f32/f16; ints always truncate', () => {
    const g = new Graph();
    const x = g.input('x', [1]);
    const third = g.div(x, g.scalar(3));
    const h = g.cast(third, 'f16');
    const i = g.div(g.input('i', [2], 'i32'), g.scalar(2, 'i32'));
    const feeds = new Map([['x', Float64Array.of(1)], ['i', Float64Array.of(7, -7)]]);
    const f64 = evaluate(g, feeds, [third, h, i]);
    expect(f64.get(third)!.data[0]).toBe(1 / 3);
    const f32 = evaluate(g, feeds, [third, h, i], { precision: 'f32' });
    expect(f32.get(third)!.data[0]).toBe(Math.fround(1 / 3));
    expect(f32.get(h)!.data[0]).toBe(0.333251953125);
    expect(Array.from(f32.get(i)!.data)).toEqual([3, -3]);
  });
  it('evaluateStep returns named outputs and the new values of assigned leaves', () => {
    const g = new Graph();
    const step = g.state('step', [1]);
    const w = g.param('w', [2], { kind: 'ones' });
    const x = g.input('x', [2]);
    const loss = g.output('loss', g.sum(g.mul(w, x), [0]));
    g.assign(step, g.add(step, g.scalar(1)));
    g.assign(w, g.sub(w, g.mul(x, g.scalar(0.5))));
    const { outputs, assigns } = evaluateStep(g, new Map([['x', Float64Array.of(2, 4)], ['step', Float64Array.of(5)]]));
    expect(outputs.get('loss')!.data[0]).toBe(6);
    expect(Array.from(assigns.get('step')!.data)).toEqual([6]);
    expect(Array.from(assigns.get('w')!.data)).toEqual([0, -1]);
    expect(loss.shape).toEqual([]);
  });
});
