// The Generator on the GPU engine (the WGSL kernels through Dawn; llvmpipe in CI) against the CPU reference
// engine: chunked prefill with images, KV-cache decode, beam search and a left-padded batch agree.

import { describe, expect, it } from 'vitest';
import { lowerDecode } from '../../compiler/lower/index.js';
import type { ModelSpec } from '../../compiler/semantics/spec.js';
import { Generator, cpuEngineFactory, gpuEngineFactory } from '../../runtime/generate.js';
import { normals, randomParams, rng } from '../lower/harness.js';
import { conn, dec, model, moe, vit } from '../lower/specs.js';
import { gpu } from '../helpers/gpu.js';

const IMG = 10;

function weights(m: ModelSpec, seed = 3): Map<string, Float32Array> {
  const { graph } = lowerDecode(m, { B: 1, Tn: 2, Tmax: 4, maxImages: 1 });
  return new Map([...randomParams(graph, seed, 0.5)].map(([k, v]) => [k, Float32Array.from(v)]));
}

describe('Generator on the GPU engine', () => {
  it('prefill, greedy decode and beam search match the CPU reference engine', async () => {
    await gpu();
    const m = model(dec({ vocab: 11, depth: 2, moe: moe({ experts: 3, every: 2, capacity: 1 }) }), vit({ image: 8, patch: 4 }), conn('attn_pool', { tokens: 4, heads: 2 }));
    const w = weights(m);
    const prompt = [1, IMG, IMG, IMG, IMG, 5, 6, IMG, IMG, IMG, IMG, 7];
    const images = [Float32Array.from(normals(rng(1), 3 * 64)), Float32Array.from(normals(rng(2), 3 * 64))];
    const opts = { Tmax: 20, prefillChunk: 5, imageToken: IMG };
    const cpu = await Generator.create(cpuEngineFactory(), m, opts);
    const dev = await Generator.create(gpuEngineFactory(), m, opts);
    cpu.loadWeights(w);
    dev.loadWeights(w);
    const a = await cpu.prefill(prompt, images, true), b = await dev.prefill(prompt, images, true);
    a.forEach((row, i) => row.forEach((v, j) => expect(Math.abs(v - b[i]![j]!)).toBeLessThan(1e-4)));
    for (const strategy of [{ kind: 'greedy' as const }, { kind: 'beam' as const, width: 3 }]) {
      const x = await cpu.generate(prompt, images, { maxNewTokens: 5, strategy, banTokens: [IMG] });
      const y = await dev.generate(prompt, images, { maxNewTokens: 5, strategy, banTokens: [IMG] });
      expect(y.tokens).toEqual(x.tokens);
      expect(Math.abs(x.logProb - y.logProb)).toBeLessThan(1e-3);
    }
    const rows = [{ tokens: prompt, images }, { tokens: [1, 4, IMG, IMG, IMG, IMG, 2], images: [images[1]!] }];
    const bx = await cpu.generateBatch(rows, { maxNewTokens: 4, banTokens: [IMG] });
    const by = await dev.generateBatch(rows, { maxNewTokens: 4, banTokens: [IMG] });
    expect(by.map((r) => r.tokens)).toEqual(bx.map((r) => r.tokens));
    cpu.dispose();
    dev.dispose();
  });
});
