// Shared helpers for the lowerings: parameter declaration with the project's init conventions, Linear layers
// on any-rank inputs (flattened to 2-D so every matmul is a plain [M, K] × [K, N]), norms, head split/merge.
// Every lowering funnels its parameters through here so names and inits stay uniform.

import type { Graph, Init } from '../ir/graph.js';
import type { Node } from '../ir/node.js';

export const STD = 0.02;

/** Truncated normal (±2σ), the init of every weight matrix. */
export const normalInit = (std = STD): Init => ({ kind: 'normal', std, truncate: 2 });

/**
 * LeCun std 1/√fan_in for the connector's projections into the decoder. With 0.02 the visual tokens start tens
 * of times smaller than anything Adam adds to their biases in a few steps (Adam's steps do not scale with the
 * gradient), so the image-dependent part is swamped and a from-scratch model learns to ignore its images:
 * measured on the tiny C-Abstractor, held-out loss with shuffled images equalled the loss with the right
 * ones after 800 steps (docs/ablations.md). Honeybee's projector uses PyTorch's fan-in-scaled default too.
 */
export const fanInStd = (fanIn: number): number => 1 / Math.sqrt(fanIn);

/** Std of residual output projections: GPT-2's 0.02/√(2·layers) keeps the residual stream's variance flat. */
export const residualStd = (layers: number): number => STD / Math.sqrt(2 * Math.max(1, layers));

export interface LinearP { w: Node; b: Node | null }

/** Linear din → dout: weight [din, dout] (x · W), optional bias [dout]. */
export function linearParams(g: Graph, prefix: string, din: number, dout: number, bias: boolean, std = STD): LinearP {
  const w = g.param(`${prefix}.w`, [din, dout], normalInit(std));
  const b = bias ? g.param(`${prefix}.b`, [dout], { kind: 'zeros' }) : null;
  return { w, b };
}

/** x [..., din] · w [din, dout] (+ b) → [..., dout]; leading dims flattened so the matmul is 2-D. */
export function linear(g: Graph, x: Node, w: Node, b: Node | null = null): Node {
  const din = x.shape[x.shape.length - 1]!;
  const lead = x.shape.slice(0, -1);
  const rows = lead.reduce((a, d) => a * d, 1);
  const x2 = x.shape.length === 2 ? x : g.reshape(x, [rows, din]);
  let y = g.matmul(x2, w);                                  // [rows, dout]
  if (b) y = g.add(y, b);
  const dout = w.shape[1]!;
  return x.shape.length === 2 ? y : g.reshape(y, [...lead, dout]);
}

export const applyLinear = (g: Graph, x: Node, p: LinearP): Node => linear(g, x, p.w, p.b);

export interface NormP { w: Node; b: Node }

export function normParams(g: Graph, prefix: string, dim: number): NormP {
  return { w: g.param(`${prefix}.w`, [dim], { kind: 'ones' }), b: g.param(`${prefix}.b`, [dim], { kind: 'zeros' }) };
}

/** x [B, T, H·hd] → [B, H, T, hd] (the layout attention and rope take). */
export function splitHeads(g: Graph, x: Node, heads: number): Node {
  const [B, T, HD] = x.shape as [number, number, number];
  return g.permute(g.reshape(x, [B, T, heads, HD / heads]), [0, 2, 1, 3]);
}

/** x [B, H, T, hd] → [B, T, H·hd]. */
export function mergeHeads(g: Graph, x: Node): Node {
  const [B, H, T, hd] = x.shape as [number, number, number, number];
  return g.reshape(g.permute(x, [0, 2, 1, 3]), [B, T, H * hd]);
}

/** Integer square root that must be exact (patch grids, token grids). */
export function exactSqrt(n: number, what: string): number {
  const r = Math.round(Math.sqrt(n));
  if (r * r !== n) throw new Error(`${what}: ${n} is not a square`);
  return r;
}

/** tokens [NI, P, C] (row-major square grid) → NCHW [NI, C, g, g]. */
export function tokensToGrid(g: Graph, x: Node): Node {
  const [NI, P, C] = x.shape as [number, number, number];
  const s = exactSqrt(P, 'patch grid');
  return g.permute(g.reshape(x, [NI, s, s, C]), [0, 3, 1, 2]);
}

/** NCHW [NI, C, h, w] → tokens [NI, h·w, C]. */
export function gridToTokens(g: Graph, x: Node): Node {
  const [NI, C, h, w] = x.shape as [number, number, number, number];
  return g.reshape(g.permute(x, [0, 2, 3, 1]), [NI, h * w, C]);
}
