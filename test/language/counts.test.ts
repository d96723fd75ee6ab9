// Closed-form counts pinned by hand on the tiny specs (the arithmetic is spelled out in the comments), so a
// change to a convention shows up here and in docs/language.md § "Parameter counting" together.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFile, countParams, flopsPerToken, memoryEstimate, mm1LearningRate } from '../../compiler/language.js';
import { specsDir } from './shipped.js';

const model = (f: string) => checkFile(join(specsDir, f)).value!.model;

describe('countParams', () => {
  it('tiny.mm, by hand', () => {
    const c = countParams(model('tiny.mm'));
    // ViT W 32, patch 8, 16 patches: embed 3·64·32+32 = 6176; pos 16·32 = 512;
    // block 64 + (32·96+96) + (32·32+32) + 64 + (32·64+64) + (64·32+32) = 8544; final LN 64.
    expect(c.encoder).toBe(6176 + 512 + 8544 + 64);
    // C-Abstractor W = H = 32, depth 1, D 64: pos 512; a 32→32 block with se 8:
    // 1024+64 + 288+64 + (256+8)+(256+32) + 1024+64 = 3080, one per stage; readout (32·64+64) + (64·64+64).
    expect(c.connector).toBe(512 + 2 * 3080 + 2112 + 4160);
    // Decoder V 512, D 64, 2 layers, 4 heads, 2 kv heads (hd 16), ffn 128: embed 32768;
    // per layer 128 + 4096 + 2·2048 + 4096 + 3·64·128 = 36992; final 64; head 32768.
    expect(c.decoder).toBe(32768 + 2 * 36992 + 64 + 32768);
    expect(c.nonEmbedding).toBe(c.total - 2 * 32768);
    expect(c.activePerToken).toBe(c.total);
  });

  it('tiny-moe.mm: one MoE layer of 4 experts, top-2', () => {
    const dense = countParams(model('tiny.mm'));
    const moe = countParams(model('tiny-moe.mm'));
    const ffn = 3 * 64 * 128;
    expect(moe.decoder - dense.decoder).toBe(64 * 4 + 4 * ffn - ffn);
    expect(moe.total - moe.activePerToken).toBe((4 - 2) * ffn);
  });

  it('connector kinds', () => {
    expect(countParams(model('tiny-linear.mm')).connector).toBe(32 * 64 + 64);
    expect(countParams(model('tiny-avgpool.mm')).connector).toBe(32 * 64 + 64);
    // attn_pool: queries 4·32, q/k/v/o 4·(32·32+32), LN 64, out 32·64+64.
    expect(countParams(model('tiny-attnpool.mm')).connector).toBe(128 + 4 * 1056 + 64 + 2112);
    expect(countParams(model('tiny-text.mm'))).toMatchObject({ encoder: 0, connector: 0 });
  });

  it('FLOPs, memory and the MM1 learning-rate rule', () => {
    const m = model('tiny-text.mm');
    const f = flopsPerToken(m);
    // 2 × (2 layers × (4·64·64 + 3·64·128 - with GQA 2·64·32 for k,v) + head 512·64) + 4·L·T·h·hd.
    const matmul = 2 * (64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128) + 512 * 64;
    expect(f.decoderPerToken).toBe(2 * matmul + 4 * 2 * 64 * 4 * 16);
    expect(f.trainPerToken).toBe(3 * f.decoderPerToken);
    const spec = checkFile(join(specsDir, 'tiny-text.mm')).value!;
    const mem = memoryEstimate(spec);
    expect(mem.params).toBe(4 * countParams(m).total);
    expect(mem.total).toBe(16 * countParams(m).total + mem.activations);
    expect(mm1LearningRate(3e9)).toBeCloseTo(Math.exp(-0.4214 * Math.log(3e9) - 0.5535), 12);
  });
});
