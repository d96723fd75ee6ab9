// Hand-built ModelSpecs for the lowering tests (tiny ones for numerics, MM1-sized ones for counts), and an
// independent closed-form parameter count written from the conventions in the issue, not from the lowering.

import type { ConnectorSpec, DecoderSpec, EncoderSpec, ModelSpec, MoeSpec } from '../../compiler/semantics/spec.js';

export function vit(o: Partial<EncoderSpec> = {}): EncoderSpec {
  const image = o.image ?? 8;
  return { name: 'vit', kind: 'vit', image, patch: 4, width: 8, depth: 1, heads: 2, mlp: 12, channels: 3, posRes: image, normEps: 1e-5, ...o };
}
export function conn(kind: ConnectorSpec['kind'], o: Partial<ConnectorSpec> = {}): ConnectorSpec {
  return { name: 'c', kind, tokens: 4, depth: 1, hidden: 6, heads: 2, ...o };
}
export function dec(o: Partial<DecoderSpec> = {}): DecoderSpec {
  return { name: 'llm', kind: 'transformer', vocab: 11, width: 8, depth: 2, heads: 2, kvHeads: 1, ffn: 12, rope: 10000, tied: false, normEps: 1e-5, maxSeq: 64, ...o };
}
export function moe(o: Partial<MoeSpec> = {}): MoeSpec {
  return { experts: 4, topK: 2, every: 2, capacity: 2, balance: 0.01, zLoss: 0.001, ...o };
}
export function model(decoder: DecoderSpec, encoder?: EncoderSpec, connector?: ConnectorSpec): ModelSpec {
  return { name: 'm', decoder, ...(encoder ? { encoder } : {}), ...(connector ? { connector } : {}) };
}

// ── closed-form counts ──────────────────────────────────────────────────────────────────────────────
const lin = (i: number, o: number, bias = true): number => i * o + (bias ? o : 0);

export function countVit(e: EncoderSpec): number {
  const W = e.width;
  const pos = (e.posRes / e.patch) ** 2 * W;                 // the learned table, at the resolution it was made for
  const block = 2 * W + lin(W, 3 * W) + lin(W, W) + 2 * W + lin(W, e.mlp) + lin(e.mlp, W);
  return lin(e.channels * e.patch * e.patch, W) + pos + e.depth * block + 2 * W;
}

export function countConnector(c: ConnectorSpec, W: number, P: number, D: number): number {
  switch (c.kind) {
    case 'linear': case 'avg_pool': return lin(W, D);
    case 'attn_pool': return c.tokens * W + 4 * lin(W, W) + 2 * W + lin(W, D);
    case 'c_abstractor': {
      const H = c.hidden;
      const block = (cin: number): number => {
        const se = Math.max(1, Math.round(0.25 * cin));
        return cin * H + 2 * H + 9 * H + 2 * H + lin(H, se) + lin(se, H) + H * H + 2 * H + (cin !== H ? cin * H + 2 * H : 0);
      };
      if (c.depth === 0) return P * W + lin(W, D) + lin(D, D);
      let n = P * W + block(W) + (2 * c.depth - 1) * block(H);
      return n + lin(H, D) + lin(D, D);
    }
  }
}

export function countDecoder(d: DecoderSpec): number {
  const D = d.width, hd = D / d.heads;
  let n = d.vocab * D + D + (d.tied ? 0 : d.vocab * D);
  for (let i = 0; i < d.depth; i++) {
    n += 2 * D + D * d.heads * hd * 2 + 2 * D * d.kvHeads * hd;
    if (d.moe && (i + 1) % d.moe.every === 0) n += D * d.moe.experts + 3 * d.moe.experts * D * d.ffn;
    else n += 3 * D * d.ffn;
  }
  return n;
}

export function countModel(m: ModelSpec): number {
  let n = countDecoder(m.decoder);
  if (m.encoder && m.connector) {
    n += countVit(m.encoder);
    n += countConnector(m.connector, m.encoder.width, (m.encoder.image / m.encoder.patch) ** 2, m.decoder.width);
  }
  return n;
}

// ── MM1-sized specs ─────────────────────────────────────────────────────────────────────────────────
export const vitL14 = (image = 336): EncoderSpec =>
  ({ name: 'vit_l14', kind: 'vit', image, patch: 14, width: 1024, depth: 24, heads: 16, mlp: 4096, channels: 3, posRes: image, normEps: 1e-5 });
export const vitH14 = (image = 378): EncoderSpec =>
  ({ name: 'vit_h14', kind: 'vit', image, patch: 14, width: 1280, depth: 32, heads: 16, mlp: 5120, channels: 3, posRes: image, normEps: 1e-5 });
export const llm1b = (): DecoderSpec =>
  ({ name: 'llm_1b', kind: 'transformer', vocab: 32000, width: 2048, depth: 16, heads: 32, kvHeads: 32, ffn: 8192, rope: 10000, tied: false, normEps: 1e-5, maxSeq: 4096 });
export const llm3b = (): DecoderSpec =>
  ({ name: 'llm_3b', kind: 'transformer', vocab: 32000, width: 3072, depth: 28, heads: 24, kvHeads: 24, ffn: 8192, rope: 10000, tied: false, normEps: 1e-5, maxSeq: 4096 });
