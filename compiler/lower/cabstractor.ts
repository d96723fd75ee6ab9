// The C-Abstractor connector (Honeybee, as MM1 uses it): learnable position embedding added to the patch
// tokens; stage 1 of RegNet bottleneck blocks; adaptive average pooling to √M×√M (overlapping bins, 27→12);
// stage 2; MLP Linear(H→D), SiLU, Linear(D→D). Depth 0 reduces to pooling + MLP from the encoder width.
// All convolutions run in NCHW (the 1×1 ones as matmuls); LayerNorm2d normalises over channels per pixel.

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { ConnectorSpec } from '../semantics/spec.js';
import { applyLinear, exactSqrt, fanInStd, gridToTokens, linearParams, normalInit, normParams, tokensToGrid, type NormP } from './common.js';

/** Squeeze-excitation width: round(0.25 · cin), at least 1 (timm's RegNet rd_channels, ratio 0.25 of input). */
export const seWidth = (cin: number): number => Math.max(1, Math.round(0.25 * cin));

const ln2d = (g: Graph, x: Node, p: NormP): Node => g.layernorm2d(x, p.w, p.b, 1e-6);

/** 1×1 conv weight [cout, cin, 1, 1], no bias (a norm follows). */
const conv1x1 = (g: Graph, name: string, cin: number, cout: number): Node => g.param(name, [cout, cin, 1, 1], normalInit());

/**
 * A 1×1 convolution as the matmul it is: w [cout, cin] · x [NI, cin, h·w] → [NI, cout, h, w] (NCHW kept).
 * The matmul kernels (tuned, with fused epilogues, and their gradients) do the work the generic per-element
 * convolution kernel would.
 */
function pointwise(g: Graph, x: Node, w: Node): Node {
  const [NI, cin, h, wd] = x.shape as [number, number, number, number];
  const cout = w.shape[0]!;
  return g.reshape(g.matmul(g.reshape(w, [cout, cin]), g.reshape(x, [NI, cin, h * wd])), [NI, cout, h, wd]);
}

/**
 * RegNet bottleneck (ratio 1, group width 1 → depthwise), x [NI, cin, h, w] → [NI, H, h, w]:
 * 1×1 conv → LN2d → SiLU; dw 3×3 → LN2d → SiLU; SE; 1×1 conv → LN2d; + shortcut; SiLU.
 */
function block(g: Graph, pre: string, x: Node, cin: number, H: number): Node {
  const [NI] = x.shape as [number];
  const se = seWidth(cin);
  const w1 = conv1x1(g, `${pre}.conv1.w`, cin, H);
  const n1 = normParams(g, `${pre}.ln1`, H);
  const w2 = g.param(`${pre}.conv2.w`, [H, 1, 3, 3], normalInit());                         // depthwise
  const n2 = normParams(g, `${pre}.ln2`, H);
  const fc1 = linearParams(g, `${pre}.se.fc1`, H, se, true);
  const fc2 = linearParams(g, `${pre}.se.fc2`, se, H, true);
  const w3 = conv1x1(g, `${pre}.conv3.w`, H, H);
  const n3 = normParams(g, `${pre}.ln3`, H);

  let h = g.silu(ln2d(g, pointwise(g, x, w1), n1));                                              // [NI, H, h, w]
  h = g.silu(ln2d(g, g.conv2d(h, w2, { padding: 1, groups: H }), n2));
  // Squeeze-excitation: per-channel gate from the spatial mean.
  const s = g.mean(h, [2, 3]);                                                               // [NI, H]
  const gate = g.sigmoid(applyLinear(g, g.silu(applyLinear(g, s, fc1)), fc2));               // [NI, H]
  h = g.mul(h, g.reshape(gate, [NI, H, 1, 1]));
  h = ln2d(g, pointwise(g, h, w3), n3);
  let shortcut = x;
  if (cin !== H) {
    const ws = conv1x1(g, `${pre}.shortcut.w`, cin, H);
    shortcut = ln2d(g, pointwise(g, x, ws), normParams(g, `${pre}.shortcut.ln`, H));
  }
  return g.silu(g.add(h, shortcut));
}

function stage(g: Graph, pre: string, x: Node, depth: number, H: number): Node {
  for (let i = 0; i < depth; i++) x = block(g, `${pre}.${i}`, x, x.shape[1]!, H);
  return x;
}

/** Patch tokens [NI, P, W] → visual tokens [NI, M, D]. */
export function lowerCAbstractor(g: Graph, c: ConnectorSpec, x: Node, D: number): Node {
  const [, P, W] = x.shape as [number, number, number];
  const m = exactSqrt(c.tokens, 'c_abstractor tokens');
  const H = c.depth > 0 ? c.hidden : W;
  const pos = g.param('connector.pos_embed', [P, W], normalInit());
  let y = tokensToGrid(g, g.add(x, pos));                                                    // [NI, W, g, g]
  y = stage(g, 'connector.stage1', y, c.depth, H);                                            // [NI, H, g, g]
  y = g.adaptiveAvgPool2d(y, m, m);                                                          // [NI, H, m, m]
  y = stage(g, 'connector.stage2', y, c.depth, H);
  const t = gridToTokens(g, y);                                                              // [NI, M, H]
  const fc1 = linearParams(g, 'connector.mlp.fc1', H, D, true, fanInStd(H));
  const fc2 = linearParams(g, 'connector.mlp.fc2', D, D, true, fanInStd(D));
  return applyLinear(g, g.silu(applyLinear(g, t, fc1)), fc2);                                // [NI, M, D]
}
