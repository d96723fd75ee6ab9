// Generator on the CPU reference engine (f64) against full recomputation: chunked prefill with padding and
// images straddling chunk boundaries, token-by-token KV-cache decode (dense and MoE), beam search equal to
// brute force over every sequence and to beam search over a cache-free model, seeded sampling.

import { describe, expect, it } from 'vitest';
import { lowerDecode } from '../../compiler/lower/index.js';
import type { ModelSpec } from '../../compiler/semantics/spec.js';
import { beamSearch, type StepFn } from '../../runtime/eval/beam.js';
import { Generator, cpuEngineFactory, imageStarts, logSoftmax } from '../../runtime/generate.js';
import { ReferenceEngine } from '../../runtime/reference-engine.js';
import { normals, randomParams, rng } from '../lower/harness.js';
import { conn, dec, model, moe, vit } from '../lower/specs.js';

const IMG = 10;

/** Random weights (std 0.5, so logits are far from uniform) for every param of the model, as f32. */
function weights(m: ModelSpec, seed = 3): Map<string, Float32Array> {
  const { graph } = lowerDecode(m, { B: 1, Tn: 2, Tmax: 4, maxImages: m.encoder ? 1 : 0 });
  return new Map([...randomParams(graph, seed, 0.5)].map(([k, v]) => [k, Float32Array.from(v)]));
}

/** Next-token log-probs after every position, from one graph over the whole sequence (no chunks, no decode). */
async function fullLogProbs(m: ModelSpec, w: Map<string, Float32Array>, tokens: number[], images: Float32Array[] = []): Promise<Float64Array[]> {
  const T = tokens.length, NI = Math.max(images.length, m.encoder ? 1 : 0), V = m.decoder.vocab;
  const { graph } = lowerDecode(m, { B: 1, Tn: T, Tmax: T, maxImages: NI, capacityFactor: m.decoder.moe?.experts });
  const e = new ReferenceEngine(graph);
  for (const p of e.leafNames('param')) e.setLeaf(p, w.get(p)!);
  e.setInput('tokens', Int32Array.from(tokens));
  e.setInput('positions', Int32Array.from(tokens.keys()));
  e.setInput('cache_pos', Int32Array.of(0));
  e.setInput('cache_seg', new Int32Array(T));
  e.setInput('query_seg', new Int32Array(T));
  if (m.encoder) {
    const M = m.connector!.tokens, R = m.encoder.image, size = 3 * R * R;
    const imgs = new Float32Array(NI * size), slots = new Int32Array(NI * M).fill(-1);
    imageStarts(tokens, IMG, M).forEach((s, i) => { imgs.set(images[i]!, i * size); for (let j = 0; j < M; j++) slots[i * M + j] = s + j; });
    e.setInput('images', imgs);
    e.setInput('image_slots', slots);
    e.setInput('image_mask', Float32Array.from(tokens, (t) => (t === IMG ? 1 : 0)));
  }
  await e.run();
  const logits = e.readOutput64('logits');
  return tokens.map((_, i) => logSoftmax(logits.subarray(i * V, (i + 1) * V)));
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

const mmModel = (withMoe: boolean): ModelSpec =>
  model(dec({ vocab: 11, depth: 2, ...(withMoe ? { moe: moe({ experts: 3, every: 2, capacity: 1 }) } : {}) }), vit({ image: 8, patch: 4 }), conn('attn_pool', { tokens: 4, heads: 2 }));

describe('Generator: KV cache equals full recomputation', () => {
  for (const withMoe of [false, true]) {
    it(`chunked prefill (padding, images across chunk boundaries) and decode${withMoe ? ', MoE' : ''}`, async () => {
      const m = mmModel(withMoe);
      const w = weights(m);
      const prompt = [1, IMG, IMG, IMG, IMG, 5, 6, IMG, IMG, IMG, IMG, 7];      // image 2 spans chunks 2 and 3
      const images = [Float32Array.from(normals(rng(1), 3 * 64)), Float32Array.from(normals(rng(2), 3 * 64))];
      const gen = await Generator.create(cpuEngineFactory(), m, { Tmax: 20, prefillChunk: 5, imageToken: IMG });
      gen.loadWeights(w);
      const pre = await gen.prefill(prompt, images, true);
      const full = await fullLogProbs(m, w, prompt, images);
      // Logits cross the Engine interface as f32, hence 1e-6 rather than 1e-12.
      pre.forEach((lp, i) => expect(maxDiff(lp, full[i]!)).toBeLessThan(1e-6));

      const out = await gen.generate(prompt, images, { maxNewTokens: 5, banTokens: [IMG] });
      expect(out.tokens).toHaveLength(5);
      const seq = [...prompt, ...out.tokens];
      const ref = await fullLogProbs(m, w, seq, images);
      // Greedy from the recomputed distributions, and the same total log-prob (caches pass through f32 copies).
      let lp = 0;
      out.tokens.forEach((t, i) => {
        const row = ref[prompt.length - 1 + i]!.slice();
        row[IMG] = -Infinity;
        expect(t).toBe(row.indexOf(Math.max(...row)));
        lp += row[t]!;
      });
      expect(Math.abs(out.logProb - lp)).toBeLessThan(1e-5);
    });
  }

  it('a left-padded batch (prompts of different lengths, images) equals each prompt alone', async () => {
    const m = mmModel(true);
    const w = weights(m);
    const img = (k: number) => Float32Array.from(normals(rng(k), 3 * 64));
    const rows = [
      { tokens: [1, IMG, IMG, IMG, IMG, 5, 6, IMG, IMG, IMG, IMG, 7], images: [img(1), img(2)] },
      { tokens: [1, 3, IMG, IMG, IMG, IMG, 2], images: [img(3)] },
      { tokens: [1, 4, 5], images: [] },
    ];
    const gen = await Generator.create(cpuEngineFactory(), m, { Tmax: 20, prefillChunk: 5, imageToken: IMG });
    gen.loadWeights(w);
    const batch = await gen.prefillBatch(rows, true);
    for (const [b, r] of rows.entries()) {
      const alone = await gen.prefill(r.tokens, r.images, true);
      expect(batch[b]).toHaveLength(r.tokens.length);
      alone.forEach((lp, i) => expect(maxDiff(lp, batch[b]![i]!)).toBeLessThan(1e-6));
    }
    const opts = { maxNewTokens: 4, banTokens: [IMG], stopTokens: [3] };
    const got = await gen.generateBatch(rows, opts);
    for (const [b, r] of rows.entries()) {
      const want = await gen.generate(r.tokens, r.images, opts);
      expect(got[b]!.tokens).toEqual(want.tokens);
      expect(got[b]!.finish).toBe(want.finish);
      expect(Math.abs(got[b]!.logProb - want.logProb)).toBeLessThan(1e-5);
    }
  });

  it('scoreTokens sums the log-probs of the text targets (held-out perplexity)', async () => {
    const m = mmModel(false);
    const w = weights(m);
    const tokens = [1, IMG, IMG, IMG, IMG, 5, 6, 2, 8], images = [Float32Array.from(normals(rng(4), 3 * 64))];
    const gen = await Generator.create(cpuEngineFactory(), m, { Tmax: 12, prefillChunk: 4, imageToken: IMG });
    gen.loadWeights(w);
    const full = await fullLogProbs(m, w, tokens, images);
    let want = 0;
    for (let i = 4; i + 1 < tokens.length; i++) want += full[i]![tokens[i + 1]!]!;   // targets after the image
    const got = await gen.scoreTokens(tokens, images);
    expect(got.count).toBe(4);
    expect(Math.abs(got.logProb - want)).toBeLessThan(1e-5);
  });

  it('rejects a prompt whose image count does not match', async () => {
    const m = mmModel(false);
    const gen = await Generator.create(cpuEngineFactory(), m, { Tmax: 12, prefillChunk: 4, imageToken: IMG });
    await expect(gen.prefill([1, IMG, IMG, IMG, IMG, 2], [])).rejects.toThrow(/1 image placeholder\(s\) but 0 image/);
    await expect(gen.prefill([1, IMG, IMG, 2], [])).rejects.toThrow(/not a multiple of 4/);
  });
});

describe('Generator: beam search and sampling', () => {
  const V = 6, NEW = 3;
  const textModel = model(dec({ vocab: V, width: 8, depth: 1, heads: 2, kvHeads: 1, ffn: 8 }));
  const w = weights(textModel, 11);
  const prompt = [1, 4, 2];

  it('beam wide enough to keep every prefix equals brute force over all V^3 sequences', async () => {
    const gen = await Generator.create(cpuEngineFactory(), textModel, { Tmax: 8, prefillChunk: 2, imageToken: -1 });
    gen.loadWeights(w);
    const got = await gen.generate(prompt, [], { maxNewTokens: NEW, strategy: { kind: 'beam', width: V * V } });
    let best = { tokens: [] as number[], lp: -Infinity };
    for (let s = 0; s < V ** NEW; s++) {
      const tokens = [Math.floor(s / 36), Math.floor(s / 6) % 6, s % 6];
      const full = await fullLogProbs(textModel, w, [...prompt, ...tokens]);
      const lp = tokens.reduce((a, t, i) => a + full[prompt.length - 1 + i]![t]!, 0);
      if (lp > best.lp) best = { tokens, lp };
    }
    expect(got.tokens).toEqual(best.tokens);
    expect(Math.abs(got.logProb - best.lp)).toBeLessThan(1e-5);
  });

  it('beam 3 (cache rows reordered) equals beam 3 over a cache-free model, with a stop token', async () => {
    const gen = await Generator.create(cpuEngineFactory(), textModel, { Tmax: 10, prefillChunk: 3, imageToken: -1 });
    gen.loadWeights(w);
    const got = await gen.generate(prompt, [], { maxNewTokens: 5, strategy: { kind: 'beam', width: 3 }, stopTokens: [0] });
    const step: StepFn = async (prefixes) => Promise.all(prefixes.map(async (p) => (await fullLogProbs(textModel, w, p))[p.length - 1]!));
    const [want] = await beamSearch(step, prompt, { beamWidth: 3, maxNewTokens: 5, stopTokens: [0] });
    expect(got.tokens).toEqual(want!.tokens);
    expect(Math.abs(got.logProb - want!.logProb)).toBeLessThan(1e-5);
  });

  it('sampling is reproducible by seed; tokens stream; stop strings cut the text', async () => {
    const gen = await Generator.create(cpuEngineFactory(), textModel, { Tmax: 12, prefillChunk: 4, imageToken: -1 });
    gen.loadWeights(w);
    const run = async (seed: number) => (await gen.generate(prompt, [], { maxNewTokens: 6, strategy: { kind: 'sample', temperature: 1.5, topP: 0.95, seed } })).tokens;
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    const others = await Promise.all([1, 2, 3, 4].map((s) => run(s)));
    expect(others.some((o) => o.join() !== a.join())).toBe(true);

    const letters = 'abcdef', decode = (ids: number[]) => ids.map((i) => letters[i]).join('');
    const g0 = await gen.generate(prompt, [], { maxNewTokens: 6 });
    const stop = letters[g0.tokens[1]!]!, cutAt = g0.tokens.findIndex((t) => letters[t] === stop);
    const streamed: number[] = [];
    const g = await gen.generate(prompt, [], { maxNewTokens: 6, onToken: (t) => streamed.push(t), decode, stopStrings: [stop] });
    expect(streamed).toEqual(g.tokens);
    expect(g.finish).toBe('stop');
    expect(g.tokens).toEqual(g0.tokens.slice(0, cutAt + 1));
    expect(g.text).toBe(decode(g0.tokens.slice(0, cutAt)));
  });
});
