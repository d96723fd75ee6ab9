// The vision-language connectors MM1 ablates: linear projection, average pooling, attention pooling and the
// C-Abstractor (in cabstractor.ts). Each maps encoder patch tokens [NI, P, W] to visual tokens [NI, M, D] in
// the decoder's width.

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { ConnectorSpec } from '../semantics/spec.js';
import { applyLinear, exactSqrt, fanInStd, gridToTokens, linearParams, mergeHeads, normParams, splitHeads, tokensToGrid } from './common.js';
import { lowerCAbstractor } from './cabstractor.js';

/** Linear W → D on every patch token (M must equal P). */
function lowerLinear(g: Graph, c: ConnectorSpec, x: Node, D: number): Node {
  const W = x.shape[2]!;
  if (c.tokens !== x.shape[1]) throw new Error(`linear connector: tokens ${c.tokens} ≠ patches ${x.shape[1]}`);
  return applyLinear(g, x, linearParams(g, 'connector.proj', W, D, true, fanInStd(W)));
}

/** Average-pool the √P×√P grid to √M×√M (adaptive bins, overlapping when they do not divide), then W → D. */
function lowerAvgPool(g: Graph, c: ConnectorSpec, x: Node, D: number): Node {
  const W = x.shape[2]!;
  const m = exactSqrt(c.tokens, 'avg_pool tokens');
  const pooled = gridToTokens(g, g.adaptiveAvgPool2d(tokensToGrid(g, x), m, m));           // [NI, M, W]
  return applyLinear(g, pooled, linearParams(g, 'connector.proj', W, D, true, fanInStd(W)));
}

/** M learnable queries cross-attend (multi-head, non-causal) to the patch tokens; LN; Linear W → D. */
function lowerAttnPool(g: Graph, c: ConnectorSpec, x: Node, D: number): Node {
  const [NI, , W] = x.shape as [number, number, number];
  const M = c.tokens, H = c.heads;
  if (W % H !== 0) throw new Error(`attn_pool: heads ${H} do not divide width ${W}`);
  const queries = g.param('connector.queries', [M, W], { kind: 'normal', std: 0.02, truncate: 2 });
  const qP = linearParams(g, 'connector.q', W, W, true);
  const kP = linearParams(g, 'connector.k', W, W, true);
  const vP = linearParams(g, 'connector.v', W, W, true);
  const oP = linearParams(g, 'connector.o', W, W, true);
  const ln = normParams(g, 'connector.ln', W);
  const proj = linearParams(g, 'connector.proj', W, D, true, fanInStd(W));
  // The queries are shared by all images: project once, then broadcast over the image axis.
  const q1 = splitHeads(g, g.reshape(applyLinear(g, queries, qP), [1, M, W]), H);           // [1, H, M, hd]
  const q = g.expand(q1, [NI, H, M, W / H]);                                                 // [NI, H, M, hd]
  const k = splitHeads(g, applyLinear(g, x, kP), H);                                         // [NI, H, P, hd]
  const v = splitHeads(g, applyLinear(g, x, vP), H);
  const a = applyLinear(g, mergeHeads(g, g.attention(q, k, v, { causal: false })), oP);      // [NI, M, W]
  return applyLinear(g, g.layernorm(a, ln.w, ln.b, 1e-5), proj);                             // [NI, M, D]
}

/** Patch tokens [NI, P, W] → visual tokens [NI, M, D]. */
export function lowerConnector(g: Graph, c: ConnectorSpec, x: Node, D: number): Node {
  switch (c.kind) {
    case 'linear': return lowerLinear(g, c, x, D);
    case 'avg_pool': return lowerAvgPool(g, c, x, D);
    case 'attn_pool': return lowerAttnPool(g, c, x, D);
    case 'c_abstractor': return lowerCAbstractor(g, c, x, D);
  }
}
