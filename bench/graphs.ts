// Small model graphs shared by the benchmarks, the codegen tests and the standalone GPU check: a LLaMA-style
// transformer block and a causal attention layer, each with a scalar loss sum(y·r) so a backward pass can be taken.

import type { Graph } from '../compiler/ir/graph.js';
import type { Node } from '../compiler/ir/node.js';

/** x [B, T, D] → block(x) [B, T, D]; returns the output and the params. */
export function block(g: Graph, B = 2, T = 12, D = 32, H = 4, Hkv = 2, F = 48): { x: Node; y: Node; params: Node[] } {
  const Dh = D / H;
  const x = g.input('x', [B, T, D]);
  const pos = g.input('pos', [T], 'i32');
  const p = (n: string, s: number[]): Node => g.param(n, s, { kind: 'normal', std: 0.2 });
  const w1 = p('n1', [D]), wq = p('wq', [D, D]), wk = p('wk', [D, Hkv * Dh]), wv = p('wv', [D, Hkv * Dh]), wo = p('wo', [D, D]);
  const w2 = p('n2', [D]), wg = p('wg', [D, F]), wu = p('wu', [D, F]), wd = p('wd', [F, D]);
  const flat = (t: Node): Node => g.reshape(t, [B * T, t.shape[t.shape.length - 1]!]);
  const heads = (t: Node, h: number): Node => g.permute(g.reshape(t, [B, T, h, Dh]), [0, 2, 1, 3]);
  const h1 = flat(g.rmsnorm(x, w1));
  const q = g.rope(heads(g.matmul(h1, wq), H), pos, 10000);
  const k = g.rope(heads(g.matmul(h1, wk), Hkv), pos, 10000);
  const v = heads(g.matmul(h1, wv), Hkv);
  const a = g.reshape(g.permute(g.attention(q, k, v, { causal: true }), [0, 2, 1, 3]), [B * T, D]);
  const x2 = g.add(flat(x), g.matmul(a, wo));
  const h2 = g.rmsnorm(x2, w2);
  const ff = g.matmul(g.mul(g.silu(g.matmul(h2, wg)), g.matmul(h2, wu)), wd);
  const y = g.reshape(g.add(x2, ff), [B, T, D]);
  return { x, y, params: [w1, wq, wk, wv, wo, w2, wg, wu, wd] };
}

/** Causal attention over q [B, H, T, Dh], k, v [B, Hkv, T, Dh] with loss sum(o·r). */
export function attentionLayer(g: Graph, B: number, H: number, Hkv: number, T: number, Dh: number): { q: Node; k: Node; v: Node; loss: Node } {
  const q = g.input('q', [B, H, T, Dh]), k = g.input('k', [B, Hkv, T, Dh]), v = g.input('v', [B, Hkv, T, Dh]);
  const o = g.attention(q, k, v, { causal: true });
  const loss = g.sum(g.mul(o, g.input('r', o.shape)), [0, 1, 2, 3]);
  return { q, k, v, loss };
}
