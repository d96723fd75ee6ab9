// Whole-model lowerings. lowerTrain: the batch inputs of runtime/data/batch.ts → visual tokens placed into the
// token sequence at their slots → decoder → text-only next-token loss (+ MoE auxiliary losses). lowerDecode:
// the same model over a KV cache (state leaves written by cache_write), one graph for prefill and decode.
// Both declare parameters through the same functions, so one checkpoint loads into either graph.

import '../ops/index.js';   // lowerTrain/lowerDecode build their own Graph: make sure every op is registered
import { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { ModelSpec } from '../semantics/spec.js';
import { lowerConnector } from './connector.js';
import { embedTokens, lowerDecoder } from './decoder.js';
import { lowerVit } from './vit.js';

export interface TrainShape { B: number; T: number; maxImages: number }
export interface DecodeShape {
  B: number; Tn: number; Tmax: number; maxImages: number;
  /** MoE capacity factor at inference (default: the spec's; `experts` guarantees no token is dropped). */
  capacityFactor?: number;
}

export interface TrainGraph { graph: Graph; loss: Node; lmLoss: Node; auxLoss: Node | null; logits: Node }
export interface DecodeGraph { graph: Graph; logits: Node; caches: { k: Node; v: Node }[] }

const hasImages = (model: ModelSpec, maxImages: number): boolean => !!model.encoder && !!model.connector && maxImages > 0;

/** Encoder → connector → visual tokens [NI, M, D]. */
export function lowerVisual(g: Graph, model: ModelSpec, images: Node): Node {
  return lowerConnector(g, model.connector!, lowerVit(g, model.encoder!, images), model.decoder.width);
}

/**
 * Token embeddings [B, T, D] with visual tokens substituted at image positions. Visual tokens are scattered
 * to their flat slots b·T + t (−1 slots add nothing); image_mask then selects them over the token embedding
 * (a select, not a sum, so the `<image>` placeholder's embedding never leaks in).
 */
function inputEmbeddings(g: Graph, model: ModelSpec, B: number, T: number, maxImages: number, tokens: Node): Node {
  const emb = embedTokens(g, model.decoder, tokens);                                         // [B, T, D]
  if (!hasImages(model, maxImages)) return emb;
  const enc = model.encoder!, D = model.decoder.width, NI = B * maxImages, M = model.connector!.tokens;
  const images = g.input('images', [NI, enc.channels, enc.image, enc.image], 'f32');         // [NI, 3, R, R]
  const slots = g.input('image_slots', [NI, M], 'i32');                                      // [NI, M]
  const mask = g.input('image_mask', [B, T], 'f32');                                         // [B, T]
  const vis = lowerVisual(g, model, images);                                                 // [NI, M, D]
  const placed = g.reshape(g.scatterAdd(slots, vis, B * T), [B, T, D]);                      // [B, T, D]
  return g.where(g.reshape(mask, [B, T, 1]), placed, emb);
}

/** Mean cross-entropy over positions whose target is ≥ 0 (text tokens; image positions and padding are −1). */
export function textLoss(g: Graph, logits: Node, targets: Node): Node {
  const V = logits.shape[logits.shape.length - 1]!;
  const N = targets.shape.reduce((a, d) => a * d, 1);
  const tFlat = g.reshape(targets, [N]);
  const ce = g.crossEntropy(g.reshape(logits, [N, V]), tFlat);                              // [N], 0 where ignored
  const valid = g.compare(g.cast(tFlat, 'f32'), g.scalar(0), 'ge');                          // [N] 0/1
  const count = g.max(g.sum(valid, [0]), g.scalar(1));                                       // avoid 0/0 on empty batches
  return g.div(g.sum(ce, [0]), count);
}

/** The training graph: loss = text cross-entropy + weighted MoE auxiliary losses. */
export function lowerTrain(model: ModelSpec, shape: TrainShape, g = new Graph()): TrainGraph {
  const { B, T, maxImages } = shape;
  const tokens = g.input('tokens', [B, T], 'i32');
  const targets = g.input('targets', [B, T], 'i32');
  const segments = g.input('segments', [B, T], 'i32');
  const positions = g.input('positions', [T], 'i32');
  const x = inputEmbeddings(g, model, B, T, maxImages, tokens);
  // Packed documents attend only within themselves (qSeg = kSeg = segments; −1 padding sees nothing).
  const dec = lowerDecoder(g, model.decoder, x, positions,
    (_i, q, k, v) => g.attention(q, k, v, { causal: true, qSeg: segments, kSeg: segments }));
  const lmLoss = textLoss(g, dec.logits, targets);
  const loss = dec.aux ? g.add(lmLoss, dec.aux) : lmLoss;
  g.output('loss', loss);
  g.output('lm_loss', lmLoss);
  if (dec.aux) g.output('aux_loss', dec.aux);
  g.output('logits', dec.logits);
  return { graph: g, loss, lmLoss, auxLoss: dec.aux, logits: dec.logits };
}

/**
 * The inference graph over a KV cache [B, Hkv, Tmax, hd] per layer (state 'cache.{i}.k' / '.v'). A chunk of
 * Tn tokens at absolute positions `positions` (= cache_pos + 0..Tn−1) is written into the cache, then
 * attends causally over all Tmax slots; 'cache_seg' is 0 for filled (or being-filled) slots and −1 for empty
 * ones, 'query_seg' zeros. Prefill uses Tn = prompt bucket, decode Tn = 1.
 */
export function lowerDecode(model: ModelSpec, shape: DecodeShape, g = new Graph()): DecodeGraph {
  const { B, Tn, Tmax, maxImages } = shape;
  const dec = model.decoder;
  const hd = dec.width / dec.heads;
  const tokens = g.input('tokens', [B, Tn], 'i32');
  const positions = g.input('positions', [Tn], 'i32');
  const cachePos = g.input('cache_pos', [1], 'i32');
  const cacheSeg = g.input('cache_seg', [B, Tmax], 'i32');
  const querySeg = g.input('query_seg', [B, Tn], 'i32');
  const x = inputEmbeddings(g, model, B, Tn, maxImages, tokens);
  const caches: { k: Node; v: Node }[] = [];
  for (let i = 0; i < dec.depth; i++) {
    caches.push({
      k: g.state(`cache.${i}.k`, [B, dec.kvHeads, Tmax, hd], 'f32'),
      v: g.state(`cache.${i}.v`, [B, dec.kvHeads, Tmax, hd], 'f32'),
    });
  }
  const out = lowerDecoder(g, dec, x, positions, (i, q, k, v) => {
    const c = caches[i]!;
    const kAll = g.cacheWrite(c.k, k, cachePos);                                              // [B, Hkv, Tmax, hd]
    const vAll = g.cacheWrite(c.v, v, cachePos);
    g.assign(c.k, kAll);
    g.assign(c.v, vAll);
    return g.attention(q, kAll, vAll, { causal: true, qPos: positions, qSeg: querySeg, kSeg: cacheSeg });
  }, shape.capacityFactor);
  g.output('logits', out.logits);
  return { graph: g, logits: out.logits, caches };
}
