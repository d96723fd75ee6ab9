// Closed-form parameter counts, FLOPs per token and a training-memory estimate, from a ModelSpec alone.
// The conventions (which layers have biases, where norms sit) are the lowering's, written down in
// docs/language.md § "Parameter counting"; a test in the lowering compares these against the real graph.

import type { ConnectorSpec, DecoderSpec, EncoderSpec, ModelSpec, ResolvedSpec } from './spec.js';

export interface ParamCounts {
  encoder: number;
  connector: number;
  decoder: number;
  total: number;
  nonEmbedding: number;     // total − decoder token embedding − untied output head
  activePerToken: number;   // total with only top_k experts per MoE layer
}

const lin = (i: number, o: number, bias = true): number => i * o + (bias ? o : 0);
const ln = (w: number): number => 2 * w;   // LayerNorm / LayerNorm2d: weight + bias

export function encoderParams(e: EncoderSpec): number {
  const W = e.width;
  const posPatches = (e.posRes / e.patch) ** 2;
  const block = ln(W) + lin(W, 3 * W) + lin(W, W) + ln(W) + lin(W, e.mlp) + lin(e.mlp, W);
  return lin(e.channels * e.patch * e.patch, W) + posPatches * W + e.depth * block + ln(W);
}

/** One C-Abstractor RegNet bottleneck block, `cin` → `H` channels. */
function regBlock(cin: number, H: number): number {
  const se = Math.max(1, Math.round(0.25 * cin));
  let n = cin * H + ln(H)          // 1×1 conv (no bias) + LN2d
    + 9 * H + ln(H)                // depthwise 3×3 (no bias) + LN2d
    + (H * se + se) + (se * H + H) // squeeze-excitation
    + H * H + ln(H);               // 1×1 conv (no bias) + LN2d
  if (cin !== H) n += cin * H + ln(H); // shortcut projection
  return n;
}

export function connectorParams(c: ConnectorSpec, e: EncoderSpec, D: number): number {
  const W = e.width;
  const patches = (e.image / e.patch) ** 2;
  switch (c.kind) {
    case 'linear':
    case 'avg_pool':
      return lin(W, D);
    case 'attn_pool':
      return c.tokens * W + 4 * lin(W, W) + ln(W) + lin(W, D);
    case 'c_abstractor': {
      const H = c.hidden;
      const pos = patches * W;
      if (c.depth === 0) return pos + lin(W, D) + lin(D, D);
      let n = pos + regBlock(W, H) + (c.depth - 1) * regBlock(H, H) + c.depth * regBlock(H, H);
      return n + lin(H, D) + lin(D, D);
    }
  }
}

export function moeLayers(d: DecoderSpec): number {
  return d.moe ? Math.floor(d.depth / d.moe.every) : 0;
}

export function decoderParams(d: DecoderSpec): { total: number; embedding: number; head: number; inactive: number } {
  const D = d.width;
  const hd = D / d.heads;
  const attn = D * d.heads * hd + 2 * D * d.kvHeads * hd + d.heads * hd * D;
  const ffn = 3 * D * d.ffn;
  const nMoe = moeLayers(d);
  const E = d.moe?.experts ?? 0;
  const layers = d.depth * (attn + 2 * D) + (d.depth - nMoe) * ffn + nMoe * (D * E + E * ffn);
  const embedding = d.vocab * D;
  const head = d.tied ? 0 : d.vocab * D;
  const inactive = d.moe ? nMoe * (E - d.moe.topK) * ffn : 0;
  return { total: embedding + layers + D + head, embedding, head, inactive };
}

export function countParams(model: ModelSpec): ParamCounts {
  const encoder = model.encoder ? encoderParams(model.encoder) : 0;
  const connector = model.encoder && model.connector ? connectorParams(model.connector, model.encoder, model.decoder.width) : 0;
  const dec = decoderParams(model.decoder);
  const total = encoder + connector + dec.total;
  return {
    encoder, connector, decoder: dec.total, total,
    nonEmbedding: total - dec.embedding - dec.head,
    activePerToken: total - dec.inactive,
  };
}

export interface Flops {
  decoderPerToken: number;    // forward FLOPs per decoder token at context maxSeq (2·active matmul params + attention)
  encoderPerImage: number;    // forward FLOPs of the ViT for one image
  connectorPerImage: number;  // forward FLOPs of the connector for one image
  trainPerToken: number;      // ≈ 3 × forward (forward + backward), decoder only
}

/** Forward FLOPs, counting a multiply-add as 2 (Kaplan et al.'s convention: 2N + 2·L·T·d_attn·2). */
export function flopsPerToken(model: ModelSpec): Flops {
  const d = model.decoder;
  const D = d.width;
  const hd = D / d.heads;
  const dec = decoderParams(d);
  const matmul = dec.total - dec.embedding - dec.head - dec.inactive - (2 * d.depth + 1) * D + d.vocab * D;
  const decoderPerToken = 2 * matmul + 4 * d.depth * d.maxSeq * d.heads * hd;
  let encoderPerImage = 0;
  let connectorPerImage = 0;
  if (model.encoder) {
    const e = model.encoder;
    const P = (e.image / e.patch) ** 2;
    const block = lin(e.width, 3 * e.width, false) + lin(e.width, e.width, false) + 2 * e.width * e.mlp;
    encoderPerImage = 2 * P * (e.channels * e.patch * e.patch * e.width + e.depth * block) + 4 * e.depth * P * P * e.width;
    if (model.connector) {
      const c = model.connector;
      const W = e.width;
      if (c.kind === 'linear') connectorPerImage = 2 * P * W * D;
      else if (c.kind === 'avg_pool') connectorPerImage = P * W + 2 * c.tokens * W * D;
      else if (c.kind === 'attn_pool') connectorPerImage = 2 * (c.tokens * W * W * 2 + 2 * P * W * W) + 4 * c.tokens * P * W + 2 * c.tokens * W * D;
      else {
        const H = c.hidden;
        const perPos = (cin: number): number => 2 * (regBlock(cin, H) - 4 * H);
        const s1 = c.depth ? perPos(W) + (c.depth - 1) * perPos(H) : 0;
        connectorPerImage = P * s1 + c.tokens * c.depth * perPos(H) + 2 * c.tokens * ((c.depth ? H : W) * D + D * D);
      }
    }
  }
  return { decoderPerToken, encoderPerImage, connectorPerImage, trainPerToken: 3 * decoderPerToken };
}

export interface MemoryEstimate {
  params: number;       // bytes, f32 master weights
  grads: number;        // bytes, f32
  optimizer: number;    // bytes, AdamW m and v in f32
  activations: number;  // bytes saved for backward at the micro-batch (upper bound: every sequence full of images)
  total: number;
  microBatch: number;
  seqLen: number;
}

/** Training memory at the spec's micro-batch. Activations count what backward keeps per layer per token. */
export function memoryEstimate(spec: ResolvedSpec): MemoryEstimate {
  const m = spec.model;
  const d = m.decoder;
  const P = countParams(m).total;
  const bytes = spec.train?.precision === 'f16' ? 2 : 4;
  const micro = spec.train?.microBatch ?? 1;
  const T = spec.data?.seqLen ?? d.maxSeq;
  const hd = d.width / d.heads;
  const k = d.moe?.topK ?? 1;
  const nMoe = moeLayers(d);
  // Saved per token and layer (flash attention keeps no T×T scores, only a log-sum-exp per head): the block
  // input, norm outputs, q, k, v, attention output, the FFN's three hidden vectors; the logits and their
  // gradient (the largest term for a small model with a large vocabulary; the softmax is recomputed inside the
  // fused cross-entropy kernels).
  const perLayer = (moe: boolean): number => 8 * d.width + 4 * d.kvHeads * hd + d.heads + 3 * d.ffn * (moe ? k : 1);
  const perToken = (d.depth - nMoe) * perLayer(false) + nMoe * perLayer(true) + 2 * d.vocab;
  let perSeq = T * perToken;
  let inputs = micro * T * 16;                                    // tokens, targets, segments, image mask
  if (m.encoder) {
    const e = m.encoder;
    const Pn = (e.image / e.patch) ** 2;
    const images = Math.max(0, ...(spec.data?.sources ?? []).map((s) => s.maxImages));
    let perImage = Pn * e.depth * (6 * e.width + e.heads * Pn + 2 * e.mlp) + Pn * e.width * 4;
    const c = m.connector;
    // C-Abstractor: each RegNet block saves ~14 maps of [hidden, grid] (convs, norms, SiLUs, SE gate, shortcut),
    // one stage at the patch grid and one at the token grid.
    if (c?.kind === 'c_abstractor') perImage += 14 * c.depth * (c.depth > 0 ? c.hidden : e.width) * (Pn + c.tokens) + e.width * Pn;
    perSeq += images * perImage;
    inputs += micro * images * (e.channels * e.image * e.image * 4 + (m.connector?.tokens ?? 0) * 4);
  }
  let activations = micro * perSeq * bytes;
  if (d.moe && nMoe > 0) {
    // GShard dispatch and combine tensors [N, E, C] and their gradients dominate small MoE layers (the masks
    // that build them are recomputed inside their consumers, not stored). Of those four, the memory plan has
    // three live at once at its peak (tiny-moe: the fourth reuses a freed buffer).
    const N = micro * T;
    const C = Math.ceil(Math.ceil((N * d.moe.capacity) / d.moe.experts) / 4) * 4;
    activations += nMoe * 3 * N * d.moe.experts * C * 4;
  }
  activations += inputs;
  const params = 4 * P;
  return { params, grads: 4 * P, optimizer: 8 * P, activations, total: 16 * P + activations, microBatch: micro, seqLen: T };
}

/** MM1's peak learning-rate rule for N non-embedding parameters. */
export const mm1LearningRate = (nonEmbedding: number): number => Math.exp(-0.4214 * Math.log(nonEmbedding) - 0.5535);
