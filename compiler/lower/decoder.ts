// The LLM decoder (LLaMA-style, as MM1 uses): token embedding, per layer RMSNorm → grouped-KV attention with
// RoPE (no biases) → residual, RMSNorm → SwiGLU or MoE → residual; final RMSNorm; output head (tied or not).
// Attention itself is a callback so the training graph (segment-masked, causal) and the KV-cache decode graph
// (cache writes, absolute positions) share every parameter and every other op.

import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { DecoderSpec } from '../semantics/spec.js';
import { linear, mergeHeads, normalInit, residualStd, splitHeads } from './common.js';
import { lowerMoe, moeParams, type MoeResult } from './moe.js';

/** q [B, H, T, hd] (roped), k/v [B, Hkv, T, hd] (k roped) of layer `layer` → attention output [B, H, T, hd]. */
export type AttendFn = (layer: number, q: Node, k: Node, v: Node) => Node;

export const isMoeLayer = (dec: DecoderSpec, i: number): boolean => !!dec.moe && (i + 1) % dec.moe.every === 0;

/** The token embedding table [V, D] (declared once; the tied head reuses it). */
export function embedTable(g: Graph, dec: DecoderSpec): Node {
  return g.byName.get('decoder.embed') ?? g.param('decoder.embed', [dec.vocab, dec.width], normalInit());
}

/** Token ids int [B, T] → embeddings [B, T, D]. */
export function embedTokens(g: Graph, dec: DecoderSpec, tokens: Node): Node {
  return g.gather(embedTable(g, dec), tokens);
}

export interface DecoderResult {
  logits: Node;          // [B, T, V]
  aux: Node | null;      // [] weighted MoE auxiliary losses summed over MoE layers (null without MoE)
  moe: MoeResult[];      // per MoE layer, for tests and metrics
}

/**
 * Input embeddings x [B, T, D] and positions int [T] → logits [B, T, V]. `capacityFactor` overrides the MoE
 * capacity factor (see lowerMoe).
 */
export function lowerDecoder(g: Graph, dec: DecoderSpec, x: Node, positions: Node, attend: AttendFn, capacityFactor?: number): DecoderResult {
  const [B, T, D] = x.shape as [number, number, number];
  const H = dec.heads, Hkv = dec.kvHeads, hd = D / H;
  const outStd = residualStd(dec.depth);
  const embed = embedTable(g, dec);
  const moes: MoeResult[] = [];
  let aux: Node | null = null;
  for (let i = 0; i < dec.depth; i++) {
    const pre = `decoder.layers.${i}`;
    const attnNorm = g.param(`${pre}.attn_norm`, [D], { kind: 'ones' });
    const wq = g.param(`${pre}.attn.wq`, [D, H * hd], normalInit());
    const wk = g.param(`${pre}.attn.wk`, [D, Hkv * hd], normalInit());
    const wv = g.param(`${pre}.attn.wv`, [D, Hkv * hd], normalInit());
    const wo = g.param(`${pre}.attn.wo`, [H * hd, D], normalInit(outStd));
    const ffnNorm = g.param(`${pre}.ffn_norm`, [D], { kind: 'ones' });

    const h = g.rmsnorm(x, attnNorm, dec.normEps);                                           // [B, T, D]
    const q = g.rope(splitHeads(g, linear(g, h, wq), H), positions, dec.rope);               // [B, H, T, hd]
    const k = g.rope(splitHeads(g, linear(g, h, wk), Hkv), positions, dec.rope);             // [B, Hkv, T, hd]
    const v = splitHeads(g, linear(g, h, wv), Hkv);                                          // [B, Hkv, T, hd]
    x = g.add(x, linear(g, mergeHeads(g, attend(i, q, k, v)), wo));                          // [B, T, D]

    const f = g.rmsnorm(x, ffnNorm, dec.normEps);
    if (isMoeLayer(dec, i)) {
      const p = moeParams(g, `${pre}.moe`, D, dec.ffn, dec.moe!, outStd);
      const r = lowerMoe(g, p, dec.moe!, g.reshape(f, [B * T, D]), capacityFactor ?? dec.moe!.capacity);
      moes.push(r);
      aux = aux ? g.add(aux, r.aux) : r.aux;
      x = g.add(x, g.reshape(r.y, [B, T, D]));
    } else {
      const w1 = g.param(`${pre}.mlp.w1`, [D, dec.ffn], normalInit());
      const w3 = g.param(`${pre}.mlp.w3`, [D, dec.ffn], normalInit());
      const w2 = g.param(`${pre}.mlp.w2`, [dec.ffn, D], normalInit(outStd));
      const m = g.mul(g.silu(linear(g, f, w1)), linear(g, f, w3));                           // [B, T, ffn]
      x = g.add(x, linear(g, m, w2));
    }
  }
  const normF = g.param('decoder.norm', [D], { kind: 'ones' });
  const hF = g.reshape(g.rmsnorm(x, normF, dec.normEps), [B * T, D]);                        // [B·T, D]
  const head = dec.tied ? embed : g.param('decoder.head', [dec.vocab, D], normalInit());     // [V, D]
  const logits = g.reshape(g.matmul(hF, head, { transB: true }), [B, T, dec.vocab]);         // [B, T, V]
  return { logits, aux, moe: moes };
}
