// Whole-model lowerings on the reference interpreter: the text-only loss against a direct cross-entropy,
// visual-token placement (placeholder ids never leak, causal and packed-document isolation), gradients of the
// full multimodal MoE loss by finite differences, and KV-cache prefill + decode equal to the training logits.

import { describe, expect, it } from 'vitest';
import { lowerDecode, lowerTrain } from '../../compiler/lower/index.js';
import type { ModelSpec } from '../../compiler/semantics/spec.js';
import { evaluateStep } from '../../runtime/reference.js';
import { expectClose, gradCheck, maxAbsDiff, normals, randomParams, rng, run, type Feeds } from './harness.js';
import { conn, dec, model, moe, vit } from './specs.js';

const IMG = 10;   // the `<image>` placeholder id
const B = 2, T = 8, V = 11;

const mm = (o: { tied?: boolean } = {}): ModelSpec =>
  model(dec({ vocab: V, tied: o.tied ?? false, moe: moe({ experts: 3, every: 2, capacity: 3 }) }), vit({ image: 8, patch: 4 }), conn('attn_pool', { tokens: 2, heads: 2 }));

/** A batch: row 0 holds an image at positions 1–2; row 1 is two packed text documents and padding. */
function batch(): Feeds {
  const tokens = [1, IMG, IMG, 3, 4, 5, 6, 7, /**/ 2, 3, 4, 5, 6, 7, 8, 0];
  const segments = [0, 0, 0, 0, 0, 0, 0, 0, /**/ 0, 0, 0, 0, 1, 1, 1, -1];
  const targets = [-1, -1, 3, 4, 5, 6, 7, 9, /**/ 3, 4, 5, -1, 7, 8, -1, -1];
  const mask = new Array(B * T).fill(0);
  mask[1] = 1; mask[2] = 1;
  const images = normals(rng(99), B * 3 * 8 * 8);
  images.fill(0, 3 * 64);                                                          // image slot 1 unused
  return new Map([
    ['tokens', Float64Array.from(tokens)], ['targets', Float64Array.from(targets)], ['segments', Float64Array.from(segments)],
    ['image_mask', Float64Array.from(mask)], ['images', images], ['image_slots', Float64Array.from([1, 2, -1, -1])],
    ['positions', Float64Array.from([...Array(T).keys()])],
  ]);
}

function train(m: ModelSpec, seed = 1) {
  const t = lowerTrain(m, { B, T, maxImages: 1 });
  const feeds = randomParams(t.graph, seed, 0.4, batch());
  return { ...t, feeds };
}

describe('lowerTrain', () => {
  it('declares the batch inputs with their shapes, and none of the image ones for a text-only model', () => {
    const { graph } = train(mm());
    const ins = Object.fromEntries(graph.inputs().map((n) => [n.name, `${n.dtype}[${n.shape.join(',')}]`]));
    expect(ins).toEqual({ tokens: 'i32[2,8]', targets: 'i32[2,8]', segments: 'i32[2,8]', positions: 'i32[8]',
      images: 'f32[2,3,8,8]', image_slots: 'i32[2,2]', image_mask: 'f32[2,8]' });
    expect([...graph.outputs.keys()].sort()).toEqual(['aux_loss', 'lm_loss', 'logits', 'loss']);
    const text = lowerTrain(model(dec()), { B, T, maxImages: 4 }).graph;
    expect(text.inputs().map((n) => n.name).sort()).toEqual(['positions', 'segments', 'targets', 'tokens']);
    expect([...text.outputs.keys()].sort()).toEqual(['lm_loss', 'logits', 'loss']);
    // A multimodal model lowered for text-only batches (maxImages 0) has no image inputs and no encoder.
    const noImg = lowerTrain(mm(), { B, T, maxImages: 0 }).graph;
    expect(noImg.inputs().map((n) => n.name).sort()).toEqual(['positions', 'segments', 'targets', 'tokens']);
    expect(noImg.params().some((p) => p.name!.startsWith('encoder.'))).toBe(false);
  });

  it('loss = mean text-token cross-entropy (ignoring −1 targets) + MoE aux', () => {
    const { graph, loss, lmLoss, auxLoss, logits, feeds } = train(mm());
    const [L, lm, aux, lg] = run(graph, feeds, [loss, lmLoss, auxLoss!, logits]);
    const tg = feeds.get('targets')!;
    let s = 0, n = 0;
    for (let i = 0; i < B * T; i++) {
      if (tg[i]! < 0) continue;
      const row = lg!.subarray(i * V, (i + 1) * V);
      const m = Math.max(...row);
      const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
      s += lse - row[tg[i]!]!; n++;
    }
    expect(lm![0]).toBeCloseTo(s / n, 12);
    expect(aux![0]).toBeGreaterThan(0);
    expect(L![0]).toBeCloseTo(lm![0]! + aux![0]!, 12);
  });

  it('visual tokens replace the placeholder; causality and packed documents isolate positions', () => {
    const { graph, logits, feeds } = train(mm());
    const base = run(graph, feeds, [logits])[0]!;
    const rowPos = (lg: Float64Array, b: number, t: number): Float64Array => lg.subarray((b * T + t) * V, (b * T + t + 1) * V);
    const changed = (lg: Float64Array, b: number, t: number): boolean => maxAbsDiff(rowPos(lg, b, t), rowPos(base, b, t)) > 1e-9;
    const variant = (name: string, f: (x: Float64Array) => void): Float64Array => {
      const copy = new Map(feeds);
      const x = Float64Array.from(feeds.get(name)!); f(x); copy.set(name, x);
      return run(graph, copy, [logits])[0]!;
    };
    // A different placeholder id at an image position changes nothing.
    const a = variant('tokens', (x) => { x[1] = 4; });
    expect(maxAbsDiff(a, base)).toBe(0);
    // Different pixels change row 0 from the image on, nothing before it, nothing in row 1.
    const b = variant('images', (x) => { x[5] = (x[5] ?? 0) + 1; });
    expect(changed(b, 0, 0)).toBe(false);
    for (let t = 1; t < T; t++) expect(changed(b, 0, t)).toBe(true);
    for (let t = 0; t < T; t++) expect(changed(b, 1, t)).toBe(false);
    // A token of row 1's first document does not reach its second document.
    const c = variant('tokens', (x) => { x[T + 1] = 9; });
    for (let t = 1; t < 4; t++) expect(changed(c, 1, t)).toBe(true);
    for (let t = 4; t < 7; t++) expect(changed(c, 1, t)).toBe(false);
  });

  it('gradients of the full loss (encoder, connector, decoder, MoE, tied head) match finite differences', () => {
    const { graph, loss, feeds } = train(mm({ tied: true }), 3);
    const names = ['decoder.embed', 'decoder.layers.0.attn.wq', 'decoder.layers.0.attn.wk', 'decoder.layers.0.attn.wv', 'decoder.layers.0.attn.wo',
      'decoder.layers.0.attn_norm', 'decoder.layers.0.mlp.w1', 'decoder.layers.0.mlp.w2', 'decoder.layers.1.moe.router', 'decoder.layers.1.moe.experts.w1',
      'decoder.layers.1.moe.experts.w2', 'decoder.layers.1.moe.experts.w3', 'decoder.layers.1.ffn_norm', 'decoder.norm', 'connector.queries', 'connector.k.w',
      'connector.proj.w', 'encoder.layers.0.attn.qkv.w', 'encoder.patch_embed.w', 'images'];
    gradCheck(graph, loss, feeds, names.map((n) => graph.byName.get(n)!), { samples: 2 });
  });
});

describe('lowerDecode (KV cache)', () => {
  it('prefill with images, then token-by-token decode, equals the training logits', () => {
    const m = mm();
    // Training graph over the full sequences (one document per row, images in the prompt).
    const tokens = [1, IMG, IMG, 3, 4, 5, 6, 7, /**/ 2, 5, IMG, IMG, 8, 9, 3, 4];
    const mask = tokens.map((t) => (t === IMG ? 1 : 0));
    const images = normals(rng(7), B * 3 * 64);
    const t = lowerTrain(m, { B, T, maxImages: 1 });
    const feeds = randomParams(t.graph, 5, 0.4, new Map([
      ['tokens', Float64Array.from(tokens)], ['targets', new Float64Array(B * T).fill(-1)], ['segments', new Float64Array(B * T)],
      ['image_mask', Float64Array.from(mask)], ['images', images], ['image_slots', Float64Array.from([1, 2, T + 2, T + 3])],
      ['positions', Float64Array.from([...Array(T).keys()])],
    ]));
    const full = run(t.graph, feeds, [t.logits])[0]!;                                  // [B, T, V]

    const Tp = 4, Tmax = T;
    const prefill = lowerDecode(m, { B, Tn: Tp, Tmax, maxImages: 1 });
    const step = lowerDecode(m, { B, Tn: 1, Tmax, maxImages: 0 });
    const params = (g: typeof t.graph, extra: [string, Float64Array][]): Feeds => {
      const f: Feeds = new Map(extra);
      for (const p of g.params()) f.set(p.name!, feeds.get(p.name!)!);
      return f;
    };
    const cacheSeg = (filled: number): Float64Array => Float64Array.from({ length: B * Tmax }, (_, i) => (i % Tmax < filled ? 0 : -1));
    const chunk = (from: number, n: number): Float64Array => Float64Array.from({ length: B * n }, (_, i) => tokens[Math.floor(i / n) * T + from + (i % n)]!);

    // Prefill: the first Tp tokens, image slots relative to the chunk (b·Tp + t).
    const r0 = evaluateStep(prefill.graph, params(prefill.graph, [
      ['tokens', chunk(0, Tp)], ['positions', Float64Array.from([0, 1, 2, 3])], ['cache_pos', Float64Array.of(0)],
      ['cache_seg', cacheSeg(Tp)], ['query_seg', new Float64Array(B * Tp)], ['images', images],
      ['image_slots', Float64Array.from([1, 2, Tp + 2, Tp + 3])], ['image_mask', Float64Array.from([0, 1, 1, 0, 0, 0, 1, 1])],
    ]));
    const got = new Float64Array(B * T * V);
    const put = (lg: Float64Array, from: number, n: number): void => {
      for (let b = 0; b < B; b++) got.set(lg.subarray(b * n * V, (b + 1) * n * V), (b * T + from) * V);
    };
    put(r0.outputs.get('logits')!.data, 0, Tp);
    let caches = r0.assigns;
    expect(caches.size).toBe(2 * m.decoder.depth);
    for (let pos = Tp; pos < T; pos++) {
      const f = params(step.graph, [
        ['tokens', chunk(pos, 1)], ['positions', Float64Array.of(pos)], ['cache_pos', Float64Array.of(pos)],
        ['cache_seg', cacheSeg(pos + 1)], ['query_seg', new Float64Array(B)],
      ]);
      for (const [name, v] of caches) f.set(name, v.data);
      const r = evaluateStep(step.graph, f);
      put(r.outputs.get('logits')!.data, pos, 1);
      caches = r.assigns;
    }
    expectClose(got, full, 1e-10);
  });
});
