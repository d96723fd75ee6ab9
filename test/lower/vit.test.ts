// The ViT encoder: bicubic position-embedding resampling against an independent grid implementation,
// the patch unfold + embedding against direct indexing, and gradients by finite differences.

import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/index.js';
import { numel } from '../../compiler/ir/node.js';
import { bicubicMatrix1d, bicubicMatrix2d, lowerVit, vitPosEmbed } from '../../compiler/lower/index.js';
import { expectClose, gradCheck, normals, projectLoss, randomParams, rng, run } from './harness.js';
import { vit } from './specs.js';

/** PyTorch's upsample_bicubic2d (align_corners=False) written directly over a [g0, g0, C] grid. */
function bicubicGrid(src: Float64Array, g0: number, g: number, C: number): Float64Array {
  const A = -0.75;
  const cc1 = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1;             // |x| ≤ 1
  const cc2 = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A;       // 1 < |x| < 2
  const coeffs = (t: number): number[] => [cc2(t + 1), cc1(t), cc1(1 - t), cc2(2 - t)];
  const clamp = (i: number): number => Math.min(g0 - 1, Math.max(0, i));
  const scale = g0 / g;
  const out = new Float64Array(g * g * C);
  for (let oy = 0; oy < g; oy++) {
    const ry = scale * (oy + 0.5) - 0.5, iy = Math.floor(ry), wy = coeffs(ry - iy);
    for (let ox = 0; ox < g; ox++) {
      const rx = scale * (ox + 0.5) - 0.5, ix = Math.floor(rx), wx = coeffs(rx - ix);
      for (let c = 0; c < C; c++) {
        let s = 0;
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += wy[a]! * wx[b]! * src[(clamp(iy - 1 + a) * g0 + clamp(ix - 1 + b)) * C + c]!;
        out[(oy * g + ox) * C + c] = s;
      }
    }
  }
  return out;
}

describe('bicubic position-embedding interpolation', () => {
  it('is the identity when the resolutions match', () => {
    const m = bicubicMatrix2d(4, 4);
    const eye = new Float64Array(256);
    for (let i = 0; i < 16; i++) eye[i * 17] = 1;
    expectClose(m, eye, 1e-15);
  });

  it('rows sum to 1; half-pixel taps are PyTorch\'s (−0.09375, 0.59375, 0.59375, −0.09375), clamped at the edges', () => {
    const a = bicubicMatrix1d(6, 10);
    for (let o = 0; o < 10; o++) {
      let s = 0;
      for (let i = 0; i < 6; i++) s += a[o * 6 + i]!;
      expect(s).toBeCloseTo(1, 14);
    }
    // 4 → 2: source coordinates 0.5 and 2.5; taps −1 and 4 clamp onto the edge pixels.
    expectClose(bicubicMatrix1d(4, 2), [0.5, 0.59375, -0.09375, 0, 0, -0.09375, 0.59375, 0.5], 1e-15);
  });

  for (const [g0, g] of [[3, 5], [5, 3], [4, 7], [7, 4]] as const) {
    it(`matches an independent implementation, ${g0}×${g0} → ${g}×${g} (graph, matmul of a constant)`, () => {
      const e = vit({ image: 4 * g, patch: 4, posRes: 4 * g0, width: 3 });
      const gr = new Graph();
      const pos = vitPosEmbed(gr, e);                                                   // [g·g, W]
      expect(pos.shape).toEqual([g * g, 3]);
      const table = normals(rng(g0 * 10 + g), g0 * g0 * 3);
      const [got] = run(gr, new Map([['encoder.pos_embed', table]]), [pos]);
      expectClose(got!, bicubicGrid(table, g0, g, 3), 1e-12);
    });
  }
});

describe('ViT', () => {
  it('patch unfold + embedding + position embedding match direct indexing (depth 0)', () => {
    const e = vit({ image: 8, patch: 4, depth: 0, width: 5 });
    const g = new Graph();
    const images = g.input('images', [2, 3, 8, 8]);
    const out = lowerVit(g, e, images);
    expect(out.shape).toEqual([2, 4, 5]);
    const feeds = randomParams(g, 1);
    feeds.set('images', normals(rng(2), numel(images.shape)));
    const [y] = run(g, feeds, [out]);
    const img = feeds.get('images')!, w = feeds.get('encoder.patch_embed.w')!, b = feeds.get('encoder.patch_embed.b')!;
    const pos = feeds.get('encoder.pos_embed')!, lw = feeds.get('encoder.ln_f.w')!, lb = feeds.get('encoder.ln_f.b')!;
    const W = 5;
    const want = new Float64Array(2 * 4 * W);
    for (let n = 0; n < 2; n++) for (let py = 0; py < 2; py++) for (let px = 0; px < 2; px++) {
      const p = py * 2 + px;
      const h = new Float64Array(W);
      for (let o = 0; o < W; o++) {
        let s = b[o]! + pos[p * W + o]!;
        for (let c = 0; c < 3; c++) for (let ky = 0; ky < 4; ky++) for (let kx = 0; kx < 4; kx++)
          s += img[((n * 3 + c) * 8 + py * 4 + ky) * 8 + px * 4 + kx]! * w[(c * 16 + ky * 4 + kx) * W + o]!;
        h[o] = s;
      }
      const mu = h.reduce((a, v) => a + v, 0) / W;
      const va = h.reduce((a, v) => a + (v - mu) ** 2, 0) / W;
      for (let o = 0; o < W; o++) want[(n * 4 + p) * W + o] = ((h[o]! - mu) / Math.sqrt(va + 1e-5)) * lw[o]! + lb[o]!;
    }
    expectClose(y!, want, 1e-12);
  });

  it('forward runs and gradients match finite differences (with resampled position embeddings)', () => {
    const e = vit({ image: 8, patch: 4, posRes: 12, depth: 2, width: 8, heads: 2, mlp: 12 });
    const g = new Graph();
    const images = g.input('images', [2, 3, 8, 8]);
    const out = lowerVit(g, e, images);
    expect(out.shape).toEqual([2, 4, 8]);
    const feeds = randomParams(g, 5);
    feeds.set('images', normals(rng(6), numel(images.shape)));
    const [y] = run(g, feeds, [out]);
    expect(y!.every(Number.isFinite)).toBe(true);
    const loss = projectLoss(g, out);
    const names = ['encoder.patch_embed.w', 'encoder.patch_embed.b', 'encoder.pos_embed', 'encoder.layers.0.ln1.w', 'encoder.layers.0.attn.qkv.w',
      'encoder.layers.0.attn.qkv.b', 'encoder.layers.1.attn.proj.w', 'encoder.layers.1.ln2.b', 'encoder.layers.1.mlp.fc1.w', 'encoder.layers.0.mlp.fc2.b', 'encoder.ln_f.w'];
    gradCheck(g, loss, feeds, [...names.map((n) => g.byName.get(n)!), images]);
  });
});
