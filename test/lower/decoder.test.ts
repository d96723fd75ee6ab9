// The decoder and the attention-pool connector against direct loop implementations written here from their
// definitions (RMSNorm, rotate-half RoPE, grouped-KV causal attention, SwiGLU, untied head; learnable
// queries cross-attending with per-head softmax), to pin down the wiring: weight layouts, head split, GQA.

import { describe, it } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import { numel } from '../../compiler/ir/node.js';
import { lowerConnector, lowerTrain } from '../../compiler/lower/index.js';
import { expectClose, normals, randomParams, rng, run } from './harness.js';
import { conn, dec, model } from './specs.js';

type Mat = number[][];
const mat = (a: Float64Array, rows: number, cols: number): Mat => Array.from({ length: rows }, (_, r) => Array.from(a.subarray(r * cols, (r + 1) * cols)));
const mm = (a: Mat, b: Mat): Mat => a.map((row) => b[0]!.map((_, j) => row.reduce((s, v, k) => s + v * b[k]![j]!, 0)));
const addRow = (a: Mat, b: ArrayLike<number>): Mat => a.map((r) => r.map((v, j) => v + b[j]!));
const softmax = (v: number[]): number[] => { const m = Math.max(...v); const e = v.map((x) => Math.exp(x - m)); const s = e.reduce((a, b) => a + b, 0); return e.map((x) => x / s); };
const silu = (v: number): number => v / (1 + Math.exp(-v));

describe('decoder against a direct implementation', () => {
  it('RMSNorm → GQA attention with RoPE → SwiGLU → norm → head', () => {
    const D = 8, H = 4, Hkv = 2, hd = 2, F = 6, V = 7, T = 5, theta = 100;
    const spec = model(dec({ vocab: V, width: D, depth: 1, heads: H, kvHeads: Hkv, ffn: F, rope: theta }));
    const t = lowerTrain(spec, { B: 1, T, maxImages: 0 });
    const tokens = [3, 1, 4, 1, 5];
    const feeds = randomParams(t.graph, 8, 0.5, new Map([
      ['tokens', Float64Array.from(tokens)], ['targets', new Float64Array(T).fill(-1)], ['segments', new Float64Array(T)],
      ['positions', Float64Array.from([0, 1, 2, 3, 4])],
    ]));
    const [logits] = run(t.graph, feeds, [t.logits]);
    const P = (n: string, r: number, c: number): Mat => mat(feeds.get(n)!, r, c);
    const rms = (x: Mat, w: Float64Array): Mat => x.map((r) => { const s = Math.sqrt(r.reduce((a, v) => a + v * v, 0) / r.length + 1e-5); return r.map((v, j) => (v / s) * w[j]!); });
    const rope = (v: number[], pos: number): number[] => {
      const out = [...v], half = v.length / 2;
      for (let i = 0; i < half; i++) {
        const a = pos * Math.pow(theta, (-2 * i) / v.length), c = Math.cos(a), s = Math.sin(a);
        out[i] = v[i]! * c - v[i + half]! * s;
        out[i + half] = v[i + half]! * c + v[i]! * s;
      }
      return out;
    };
    const emb = P('decoder.embed', V, D);
    let x: Mat = tokens.map((id) => [...emb[id]!]);
    const h = rms(x, feeds.get('decoder.layers.0.attn_norm')!);
    const q = mm(h, P('decoder.layers.0.attn.wq', D, H * hd)), k = mm(h, P('decoder.layers.0.attn.wk', D, Hkv * hd)), v = mm(h, P('decoder.layers.0.attn.wv', D, Hkv * hd));
    const att: Mat = Array.from({ length: T }, () => new Array<number>(H * hd).fill(0));
    for (let hh = 0; hh < H; hh++) {
      const kvh = Math.floor(hh / (H / Hkv));
      for (let i = 0; i < T; i++) {
        const qi = rope(q[i]!.slice(hh * hd, (hh + 1) * hd), i);
        const scores = Array.from({ length: i + 1 }, (_, j) => { const kj = rope(k[j]!.slice(kvh * hd, (kvh + 1) * hd), j); return qi.reduce((s, a, d) => s + a * kj[d]!, 0) / Math.sqrt(hd); });
        const p = softmax(scores);
        for (let j = 0; j <= i; j++) for (let d = 0; d < hd; d++) att[i]![hh * hd + d]! += p[j]! * v[j]![kvh * hd + d]!;
      }
    }
    const o = mm(att, P('decoder.layers.0.attn.wo', H * hd, D));
    x = x.map((r, i) => r.map((val, j) => val + o[i]![j]!));
    const f = rms(x, feeds.get('decoder.layers.0.ffn_norm')!);
    const a1 = mm(f, P('decoder.layers.0.mlp.w1', D, F)), a3 = mm(f, P('decoder.layers.0.mlp.w3', D, F));
    const m2 = mm(a1.map((r, i) => r.map((val, j) => silu(val) * a3[i]![j]!)), P('decoder.layers.0.mlp.w2', F, D));
    x = x.map((r, i) => r.map((val, j) => val + m2[i]![j]!));
    const head = P('decoder.head', V, D);
    const want = rms(x, feeds.get('decoder.norm')!).map((r) => head.map((hr) => hr.reduce((s, w, j) => s + w * r[j]!, 0)));
    expectClose(logits!, want.flat(), 1e-12);
  });
});

describe('attn_pool against a direct implementation', () => {
  it('M learnable queries, multi-head cross-attention, out proj, LN, Linear', () => {
    const NI = 2, P = 5, W = 6, H = 3, hd = 2, M = 3, Dd = 4;
    const g = new Graph();
    const x = g.input('patches', [NI, P, W]);
    const out = lowerConnector(g, conn('attn_pool', { tokens: M, heads: H }), x, Dd);
    const feeds = randomParams(g, 4, 0.5);
    feeds.set('patches', normals(rng(5), numel(x.shape)));
    const [y] = run(g, feeds, [out]);
    const L = (n: string, r: number, c: number, xs: Mat): Mat => addRow(mm(xs, mat(feeds.get(`${n}.w`)!, r, c)), feeds.get(`${n}.b`)!);
    const q = L('connector.q', W, W, mat(feeds.get('connector.queries')!, M, W));
    const want: number[] = [];
    for (let n = 0; n < NI; n++) {
      const xs = mat(feeds.get('patches')!.subarray(n * P * W, (n + 1) * P * W), P, W);
      const k = L('connector.k', W, W, xs), v = L('connector.v', W, W, xs);
      const a: Mat = Array.from({ length: M }, () => new Array<number>(W).fill(0));
      for (let hh = 0; hh < H; hh++) for (let i = 0; i < M; i++) {
        const p = softmax(k.map((kr) => { let s = 0; for (let d = 0; d < hd; d++) s += q[i]![hh * hd + d]! * kr[hh * hd + d]!; return s / Math.sqrt(hd); }));
        for (let j = 0; j < P; j++) for (let d = 0; d < hd; d++) a[i]![hh * hd + d]! += p[j]! * v[j]![hh * hd + d]!;
      }
      const o = L('connector.o', W, W, a);
      const lw = feeds.get('connector.ln.w')!, lb = feeds.get('connector.ln.b')!;
      const ln = o.map((r) => { const mu = r.reduce((s, val) => s + val, 0) / W; const va = r.reduce((s, val) => s + (val - mu) ** 2, 0) / W; return r.map((val, j) => ((val - mu) / Math.sqrt(va + 1e-5)) * lw[j]! + lb[j]!); });
      want.push(...L('connector.proj', W, Dd, ln).flat());
    }
    expectClose(y!, want, 1e-12);
  });
});
