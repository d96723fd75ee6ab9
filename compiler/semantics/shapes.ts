// Symbolic shape checks within and across blocks: the facts the lowering relies on (image a multiple of the
// patch, heads dividing widths, square token grids, MoE settings within the decoder's depth, sequences
// that fit their images, batches that split into micro-batches). Each points at the value to change.

import { diag } from '../diagnostics/catalog.js';
import type { Diagnostic, Span } from '../diagnostics/types.js';
import type { ConnectorSpec, DataSpec, DecoderSpec, EncoderSpec, EvalSpec, ModelSpec, TrainSpec } from './spec.js';

type Spans = Map<string, Span>;
/** Divisors of n in ascending order, in O(√n), so absurd sizes cannot stall the checker. */
function divisorList(n: number): number[] {
  if (!Number.isSafeInteger(n) || n < 1 || n > 1e12) return [];
  const lo: number[] = [];
  const hi: number[] = [];
  for (let d = 1; d * d <= n; d++) {
    if (n % d === 0) { lo.push(d); if (d * d !== n) hi.unshift(n / d); }
  }
  return [...lo, ...hi];
}
const divisors = (n: number, limit = 8): string => divisorList(n).slice(-limit).join(', ');
const isSquare = (n: number): boolean => Number.isInteger(Math.sqrt(n));
const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

export class Shapes {
  constructor(readonly diags: Diagnostic[], readonly spans: Spans, readonly fallback: Span) {}
  private at(key: string): Span { return this.spans.get(key) ?? this.fallback; }

  encoder(e: Partial<EncoderSpec>, p: string): void {
    if (num(e.image) && num(e.patch) && e.image % e.patch !== 0) {
      const lower = Math.floor(e.image / e.patch) * e.patch;
      this.diags.push(diag('imageNotMultiple', this.at(`${p}.image`), { image: e.image, patch: e.patch, lower: lower || e.patch, upper: lower + e.patch }));
    }
    if (num(e.posRes) && num(e.patch) && e.posRes % e.patch !== 0 && e.posRes !== e.image) {
      this.diags.push(diag('posResNotMultiple', this.at(`${p}.posRes`), { pos: e.posRes, patch: e.patch }));
    }
    if (num(e.width) && num(e.heads) && e.width % e.heads !== 0) {
      this.diags.push(diag('headsNotDividing', this.at(`${p}.heads`), { heads: e.heads, what: 'encoder', width: e.width, options: divisors(e.width) }));
    }
  }

  decoder(d: Partial<DecoderSpec>, p: string): void {
    if (num(d.width) && num(d.heads)) {
      if (d.width % d.heads !== 0) {
        this.diags.push(diag('headsNotDividing', this.at(`${p}.heads`), { heads: d.heads, what: 'decoder', width: d.width, options: divisors(d.width) }));
      } else if ((d.width / d.heads) % 2 !== 0) {
        this.diags.push(diag('oddHeadDim', this.at(`${p}.heads`), { hd: d.width / d.heads }));
      }
    }
    if (num(d.heads) && num(d.kvHeads) && d.heads % d.kvHeads !== 0) {
      this.diags.push(diag('kvHeadsNotDividing', this.at(`${p}.kvHeads`), { kv: d.kvHeads, heads: d.heads, options: divisors(d.heads) }));
    }
    const m = d.moe;
    if (m) {
      if (num(m.topK) && num(m.experts) && m.topK > m.experts) this.diags.push(diag('topKTooLarge', this.at(`${p}.moe.topK`), { k: m.topK, experts: m.experts }));
      if (num(m.every) && num(d.depth) && m.every > d.depth) this.diags.push(diag('everyTooLarge', this.at(`${p}.moe.every`), { every: m.every, depth: d.depth }));
    }
  }

  connector(c: Partial<ConnectorSpec>, e: Partial<EncoderSpec> | undefined, p: string): void {
    if (!num(c.tokens) || !c.kind) return;
    const grid = e && num(e.image) && num(e.patch) && e.image % e.patch === 0 ? e.image / e.patch : undefined;
    const patches = grid !== undefined ? grid * grid : undefined;
    const sq = (t: number): { lower: number; upper: number } => {
      const r = Math.floor(Math.sqrt(t));
      return { lower: Math.max(1, r * r), upper: (r + 1) * (r + 1) };
    };
    if (c.kind === 'linear') {
      if (patches !== undefined && c.tokens !== patches) this.diags.push(diag('linearTokens', this.at(`${p}.tokens`), { patches, tokens: c.tokens }));
      return;
    }
    if ((c.kind === 'avg_pool' || c.kind === 'c_abstractor') && !isSquare(c.tokens)) {
      this.diags.push(diag('tokensNotSquare', this.at(`${p}.tokens`), { kind: c.kind, tokens: c.tokens, ...sq(c.tokens) }));
      return;
    }
    if (patches !== undefined && c.tokens > patches) {
      this.diags.push(diag('tooManyTokens', this.at(`${p}.tokens`), { tokens: c.tokens, patches }));
      return;
    }
    if (c.kind === 'avg_pool' && grid !== undefined) {
      const side = Math.sqrt(c.tokens);
      if (grid % side !== 0) {
        const opts = divisorList(grid).map((s) => s * s);
        this.diags.push(diag('poolNotDividing', this.at(`${p}.tokens`), { grid, side, options: opts.slice(-4).join(', ') }));
      }
    }
    if (c.kind === 'attn_pool' && e && num(e.width) && num(c.heads) && e.width % c.heads !== 0) {
      this.diags.push(diag('attnHeads', this.at(`${p}.heads`), { heads: c.heads, width: e.width }));
    }
  }

  model(m: Partial<ModelSpec>, p: string): void {
    if (m.encoder) this.encoder(m.encoder, `${p}.encoder`);
    if (m.connector) this.connector(m.connector, m.encoder, `${p}.connector`);
    if (m.decoder) this.decoder(m.decoder, `${p}.decoder`);
  }

  data(d: Partial<DataSpec>, m: Partial<ModelSpec> | undefined, p: string, mp: string): void {
    (d.sources ?? []).forEach((s, i) => {
      if (!(s.weight > 0)) this.diags.push(diag('badWeight', this.at(`${p}.sources.${i}.weight`), { value: s.weight }));
    });
    if (!m) return;
    const tokens = m.connector?.tokens;
    if (!m.encoder) {
      (d.sources ?? []).forEach((s, i) => {
        if (s.kind !== 'text') this.diags.push(diag('textOnlyImages', this.at(`${p}.sources.${i}.kind`), { model: m.name ?? '', data: d.name ?? '', kind: s.kind }));
      });
    } else if (num(tokens) && num(d.seqLen)) {
      (d.sources ?? []).forEach((s, i) => {
        if (s.kind === 'text' || !num(s.maxImages)) return;
        const need = s.maxImages * tokens;
        if (need >= d.seqLen!) {
          this.diags.push(diag('seqTooShort', this.at(`${p}.sources.${i}.maxImages`), { seq: d.seqLen!, images: s.maxImages, tokens, need }));
        }
      });
    }
    const dec = m.decoder;
    if (dec && num(d.vocab) && num(dec.vocab) && d.vocab !== dec.vocab) {
      this.diags.push(diag('vocabMismatch', this.at(`${p}.vocab`), { data: d.vocab, decoder: dec.vocab }));
    }
    if (dec && num(dec.maxSeq) && num(d.seqLen) && dec.maxSeq < d.seqLen) {
      this.diags.push(diag('maxSeqTooShort', this.at(`${mp}.decoder.maxSeq`), { max: dec.maxSeq, seq: d.seqLen }));
    }
  }

  train(t: Partial<TrainSpec>, p: string): void {
    if (num(t.batch) && num(t.microBatch)) {
      if (t.microBatch > t.batch) this.diags.push(diag('microBatchTooLarge', this.at(`${p}.microBatch`), { micro: t.microBatch, batch: t.batch }));
      else if (t.batch % t.microBatch !== 0) this.diags.push(diag('batchNotMultiple', this.at(`${p}.microBatch`), { batch: t.batch, micro: t.microBatch }));
    }
    if (num(t.steps) && t.schedule && num(t.schedule.warmup) && t.schedule.warmup > t.steps) {
      this.diags.push(diag('warmupTooLong', this.at(`${p}.schedule.warmup`), { warmup: t.schedule.warmup, steps: t.steps }));
    }
  }

  eval(ev: EvalSpec, m: Partial<ModelSpec> | undefined, d: Partial<DataSpec> | undefined, p: string): void {
    const tokens = m?.connector?.tokens;
    const seq = d?.seqLen ?? m?.decoder?.maxSeq;
    if (!num(tokens) || !num(seq)) return;
    for (const task of ['captioning', 'vqa'] as const) {
      const shots = Math.max(-1, ...ev[task].shots);
      if (shots < 0) continue;
      const need = (shots + 1) * tokens;
      if (need >= seq) this.diags.push(diag('shotsTooLong', this.at(`${p}.${task}.shots`), { task, shots, need, seq }));
    }
  }
}
