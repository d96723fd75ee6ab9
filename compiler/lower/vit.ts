// The image encoder: a pre-LN ViT (CLIP-style, as MM1's ViT-L/14 and ViT-H/14) lowered to IR. Patches are
// unfolded by reshape/permute and embedded by one matmul; learned position embeddings are bicubically
// resampled by a constant matrix when the resolution differs from the one they were made for. Output: the
// last layer's patch tokens after the final LayerNorm (no CLS token), [NI, P, W].

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { EncoderSpec } from '../semantics/spec.js';
import { applyLinear, linearParams, mergeHeads, normalInit, normParams, residualStd, splitHeads } from './common.js';

/** Keys' cubic convolution kernel (a = −0.75, PyTorch's choice). */
function cubic(x: number, a = -0.75): number {
  const t = Math.abs(x);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0;
}

/**
 * 1-D bicubic resampling matrix [out, in] matching F.interpolate(mode='bicubic', align_corners=False):
 * source coordinate (o + 0.5)·in/out − 0.5 (not clamped), taps at floor−1 .. floor+2 clamped to the edge.
 */
export function bicubicMatrix1d(inSize: number, outSize: number): Float64Array {
  const m = new Float64Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = (o + 0.5) * scale - 0.5;
    const i0 = Math.floor(src);
    const t = src - i0;
    const w = [cubic(t + 1), cubic(t), cubic(1 - t), cubic(2 - t)];
    for (let k = 0; k < 4; k++) {
      const i = Math.min(inSize - 1, Math.max(0, i0 - 1 + k));
      m[o * inSize + i]! += w[k]!;
    }
  }
  return m;
}

/** 2-D bicubic resampling of a row-major g0×g0 grid to g×g: kron(A, A), [g·g, g0·g0]. */
export function bicubicMatrix2d(g0: number, g: number): Float64Array {
  const a = bicubicMatrix1d(g0, g);
  const P0 = g0 * g0;
  const m = new Float64Array(g * g * P0);
  for (let oy = 0; oy < g; oy++) for (let ox = 0; ox < g; ox++) {
    const row = (oy * g + ox) * P0;
    for (let iy = 0; iy < g0; iy++) {
      const wy = a[oy * g0 + iy]!;
      if (wy === 0) continue;
      for (let ix = 0; ix < g0; ix++) m[row + iy * g0 + ix] = wy * a[ox * g0 + ix]!;
    }
  }
  return m;
}

/** Position embeddings [P, W] at the encoder's resolution: the learned table, resampled if needed. */
export function vitPosEmbed(g: Graph, enc: EncoderSpec): Node {
  const grid = enc.image / enc.patch;
  const grid0 = enc.posRes / enc.patch;
  const table = g.param('encoder.pos_embed', [grid0 * grid0, enc.width], normalInit());   // [P0, W]
  if (grid0 === grid) return table;
  const interp = g.constant('encoder.pos_embed.interp', [grid * grid, grid0 * grid0], bicubicMatrix2d(grid0, grid));
  return g.matmul(interp, table);                                                            // [P, W]
}

/** images [NI, C, R, R] → patch tokens [NI, P, W]. */
export function lowerVit(g: Graph, enc: EncoderSpec, images: Node): Node {
  const NI = images.shape[0]!;
  const { patch: p, width: W, heads: H, channels: C } = enc;
  const grid = enc.image / p;
  const P = grid * grid;
  // Unfold: [NI, C, g, p, g, p] → [NI, g, g, C, p, p] → [NI, P, C·p·p] (the order of a conv weight's flatten).
  const unfolded = g.reshape(g.permute(g.reshape(images, [NI, C, grid, p, grid, p]), [0, 2, 4, 1, 3, 5]), [NI, P, C * p * p]);
  const pe = linearParams(g, 'encoder.patch_embed', C * p * p, W, true);
  let x = g.add(applyLinear(g, unfolded, pe), vitPosEmbed(g, enc));                         // [NI, P, W]
  const outStd = residualStd(enc.depth);
  for (let i = 0; i < enc.depth; i++) {
    const pre = `encoder.layers.${i}`;
    const ln1 = normParams(g, `${pre}.ln1`, W);
    const qkvP = linearParams(g, `${pre}.attn.qkv`, W, 3 * W, true);
    const projP = linearParams(g, `${pre}.attn.proj`, W, W, true, outStd);
    const ln2 = normParams(g, `${pre}.ln2`, W);
    const fc1 = linearParams(g, `${pre}.mlp.fc1`, W, enc.mlp, true);
    const fc2 = linearParams(g, `${pre}.mlp.fc2`, enc.mlp, W, true, outStd);

    const h = g.layernorm(x, ln1.w, ln1.b, enc.normEps);
    const qkv = applyLinear(g, h, qkvP);                                                     // [NI, P, 3W]
    const q = splitHeads(g, g.slice(qkv, [0, 0, 0], [NI, P, W]), H);                         // [NI, H, P, hd]
    const k = splitHeads(g, g.slice(qkv, [0, 0, W], [NI, P, 2 * W]), H);
    const v = splitHeads(g, g.slice(qkv, [0, 0, 2 * W], [NI, P, 3 * W]), H);
    const a = mergeHeads(g, g.attention(q, k, v, { causal: false }));                         // [NI, P, W]
    x = g.add(x, applyLinear(g, a, projP));
    const m = g.gelu(applyLinear(g, g.layernorm(x, ln2.w, ln2.b, enc.normEps), fc1), 'tanh'); // [NI, P, mlp]
    x = g.add(x, applyLinear(g, m, fc2));
  }
  const lnf = normParams(g, 'encoder.ln_f', W);
  return g.layernorm(x, lnf.w, lnf.b, enc.normEps);                                          // [NI, P, W]
}
