// End-to-end gradient checks of whole blocks built only from Graph helpers: a LLaMA-style decoder block
// (tied embedding, rmsnorm, grouped-KV causal attention with rope and packed segments, SwiGLU, tied
// logits, cross-entropy) and a C-Abstractor residual block (1×1 conv, layernorm2d, silu, depthwise 3×3,
// squeeze-excitation, shortcut, adaptive pooling). Every parameter's gradient vs central differences.

import { describe, expect, it } from 'vitest';
import type { Graph, Node } from '../../compiler/ir/index.js';
import { verifyGraph } from '../../compiler/ir/index.js';
import { checkGrad, randn, rng, run, type Leaf } from './helpers.js';

const r = rng(5);
const P = (name: string, shape: number[], scale = 0.5): Leaf => ({ name, shape, data: randn(shape, r, scale) });

describe('decoder block (rmsnorm + rope attention, grouped kv + SwiGLU), tied embeddings', () => {
  const B = 2, T = 3, D = 8, H = 2, Hkv = 1, Dh = 4, F = 6, V = 7;
  const ls: Leaf[] = [
    { name: 'ids', shape: [B, T], data: Float64Array.of(1, 4, 6, 2, 2, 0), dtype: 'i32' },
    { name: 'targets', shape: [B * T], data: Float64Array.of(4, 6, -1, 2, 0, 3), dtype: 'i32' },
    { name: 'pos', shape: [T], data: Float64Array.of(0, 1, 2), dtype: 'i32' },
    { name: 'seg', shape: [B, T], data: Float64Array.of(0, 0, 0, 0, 1, 1), dtype: 'i32' },
    P('embed', [V, D], 1), P('n1', [D], 1), P('wq', [D, H * Dh]), P('wk', [D, Hkv * Dh]), P('wv', [D, Hkv * Dh]), P('wo', [H * Dh, D]),
    P('n2', [D], 1), P('w1', [D, F]), P('w3', [D, F]), P('w2', [F, D]), P('nf', [D], 1),
  ];
  const build = (g: Graph, xs: Node[]): Node => {
    const [ids, targets, pos, seg, embed, n1, wq, wk, wv, wo, n2, w1, w3, w2, nf] = xs as Node[];
    const heads = (t: Node, h: number): Node => g.permute(g.reshape(t, [B, T, h, Dh]), [0, 2, 1, 3]);   // [B, h, T, Dh]
    const x = g.gather(embed!, ids!);                                                                  // [B, T, D]
    const h1 = g.rmsnorm(x, n1!);
    const q = g.rope(heads(g.matmul(h1, wq!), H), pos!, 10000);
    const k = g.rope(heads(g.matmul(h1, wk!), Hkv), pos!, 10000);
    const v = heads(g.matmul(h1, wv!), Hkv);
    const a = g.attention(q, k, v, { causal: true, qSeg: seg!, kSeg: seg! });                          // [B, H, T, Dh]
    const x2 = g.add(x, g.matmul(g.reshape(g.permute(a, [0, 2, 1, 3]), [B, T, H * Dh]), wo!));
    const h2 = g.rmsnorm(x2, n2!);
    const ff = g.matmul(g.mul(g.silu(g.matmul(h2, w1!)), g.matmul(h2, w3!)), w2!);                     // SwiGLU
    const y = g.rmsnorm(g.add(x2, ff), nf!);
    const logits = g.matmul(g.reshape(y, [B * T, D]), embed!, { transB: true });                       // tied: [B·T, V]
    return g.crossEntropy(logits, targets!);                                                           // [B·T]
  };
  it('verifies, and every gradient matches finite differences', () => {
    const { g, out } = run(ls, build);
    expect(verifyGraph(g)).toEqual([]);
    expect(out.data[2]).toBe(0);                                    // ignored target
    expect(checkGrad(ls, build)).toBeLessThan(1e-6);
  });
});

describe('C-Abstractor residual block', () => {
  const B = 1, C = 4, S = 4, M = 6, R = 3;
  const ls: Leaf[] = [
    P('x', [B, C, S, S], 1),
    P('w1', [M, C, 1, 1]), P('g1', [M], 1), P('b1', [M], 0.1),
    P('wd', [M, 1, 3, 3]), P('g2', [M], 1), P('b2', [M], 0.1),
    P('se1', [M, R]), P('se1b', [R], 0.1), P('se2', [R, M]), P('se2b', [M], 0.1),
    P('w3', [C, M, 1, 1]), P('g3', [C], 1), P('b3', [C], 0.1),
  ];
  const build = (g: Graph, xs: Node[]): Node => {
    const [x, w1, g1, b1, wd, g2, b2, se1, se1b, se2, se2b, w3, g3, b3] = xs as Node[];
    let y = g.silu(g.layernorm2d(g.conv2d(x!, w1!), g1!, b1!));                                      // [B, M, S, S]
    y = g.silu(g.layernorm2d(g.conv2d(y, wd!, { padding: 1, groups: M }), g2!, b2!));                 // depthwise 3×3
    const s = g.mean(y, [2, 3]);                                                                      // [B, M]
    const e = g.sigmoid(g.add(g.matmul(g.silu(g.add(g.matmul(s, se1!), se1b!)), se2!), se2b!));       // [B, M]
    y = g.mul(y, g.reshape(e, [B, M, 1, 1]));                                                         // excite
    y = g.layernorm2d(g.conv2d(y, w3!), g3!, b3!);                                                    // [B, C, S, S]
    return g.adaptiveAvgPool2d(g.add(x!, y), 3, 3);                                                   // shortcut, pool
  };
  it('verifies, and every gradient matches finite differences', () => {
    const { g } = run(ls, build);
    expect(verifyGraph(g)).toEqual([]);
    expect(checkGrad(ls, build)).toBeLessThan(1e-6);
  });
});
