// The WGSL expressions of the elementwise ops, evaluated numerically: each expression string is run as
// JavaScript against shims of the WGSL built-ins it may use and compared with the op's CPU reference, so a
// typo in an emitted formula (gelu, erf, the fused *_grad ops) fails here before it reaches a GPU.

import { describe, expect, it } from 'vitest';
import { allOps } from '../../compiler/ops/index.js';
import type { Attrs } from '../../compiler/ir/index.js';
import { expectClose, randn, rng } from './helpers.js';

const shims: Record<string, unknown> = {
  f32: (x: number | boolean) => Number(x), f16: (x: number | boolean) => Number(x), i32: (x: number) => Math.trunc(x), u32: (x: number) => Math.trunc(x) >>> 0,
  exp: Math.exp, log: Math.log, sqrt: Math.sqrt, inverseSqrt: (x: number) => 1 / Math.sqrt(x), tanh: Math.tanh, abs: Math.abs,
  max: Math.max, min: Math.min, pow: Math.pow, sign: Math.sign, select: (f: number, t: number, c: boolean) => (c ? t : f),
};

function evalWgsl(expr: string, args: number[]): number {
  const names = args.map((_, i) => `a${i}`);
  const fn = new Function(...Object.keys(shims), ...names, `return (${expr});`) as (...xs: unknown[]) => number;
  return fn(...Object.values(shims), ...args);
}

const r = rng(7);
const ARITY: Record<string, number> = { where: 3, compare: 2, add: 2, sub: 2, mul: 2, div: 2, maximum: 2, minimum: 2, pow: 2, silu_grad: 2, gelu_tanh_grad: 2, gelu_erf_grad: 2 };
// The A&S erf approximation in WGSL is good to 1.5e-7 absolute (times |x|, |dy|); everything else is exact.
const TOL: Record<string, number> = { gelu_erf: 1e-6, gelu_erf_grad: 1e-6 };

describe('WGSL expressions agree with the CPU reference', () => {
  for (const op of allOps().filter((o) => o.wgsl && o.name !== 'scalar' && !o.name.startsWith('test_'))) {
    it(op.name, () => {
      const n = ARITY[op.name] ?? 1;
      const ins = Array.from({ length: n }, () => randn([64], r, 2));
      if (op.name === 'pow' || ['log', 'sqrt', 'rsqrt'].includes(op.name)) ins[0] = ins[0]!.map((v) => Math.abs(v) + 0.1);
      if (op.name === 'where') ins[0] = ins[0]!.map((v) => (v > 0 ? 1 : 0));
      const attrs: Attrs = op.name === 'compare' ? { cmp: 'lt' } : op.name === 'cast' ? { dtype: 'f32' } : {};
      const expr = op.wgsl!(ins.map((_, i) => `a${i}`), attrs, 'f32');
      const got = Float64Array.from({ length: 64 }, (_, i) => evalWgsl(expr, ins.map((t) => t[i]!)));
      const want = op.ref(ins.map((data) => ({ shape: [64], dtype: 'f32' as const, data })), attrs, { shape: [64], dtype: 'f32' });
      expectClose(got, want, TOL[op.name] ?? 1e-12);
    });
  }
  it('scalar literals are typed and finite', () => {
    const def = allOps().find((o) => o.name === 'scalar')!;
    expect(def.wgsl!([], { value: -Infinity, dtype: 'f32' }, 'f32')).toBe('f32(-3.4028234663852886e38)');
    expect(def.wgsl!([], { value: 0.5, dtype: 'f16' }, 'f16')).toBe('f16(0.5)');
    expect(def.wgsl!([], { value: 3, dtype: 'i32' }, 'i32')).toBe('i32(3)');
  });
});
