// The spec zoo: every shipped spec checks clean, formats idempotently with an unchanged AST, and gives the
// published sizes (ViT-L/14 ≈ 303M, MM1-3B-MoE ≈ 64B, MM1-7B-MoE ≈ 47B).

import { describe, expect, it } from 'vitest';
import { checkFile, countParams, flopsPerToken, formatSource, memoryEstimate, parseSpec } from '../../compiler/language.js';
import { join } from 'node:path';
import { rel, shippedFiles, shippedText, specsDir } from './shipped.js';

const strip = (x: unknown): unknown => JSON.parse(JSON.stringify(x, (k, v) => (k === 'span' || k.endsWith('Span') || k === 'comments' ? undefined : v)));
const check = (f: string) => checkFile(join(specsDir, f), { projectRoot: join(specsDir, '..') });

describe('shipped specs', () => {
  it('include the MM1 family, connector and resolution variants, tiny specs and sweeps', () => {
    const names = shippedFiles.map(rel);
    for (const f of ['mm1-base', 'mm1-3b', 'mm1-7b', 'mm1-30b', 'mm1-3b-moe', 'mm1-7b-moe', 'tiny', 'tiny-moe', 'tiny-text',
      'tiny-avgpool', 'tiny-attnpool', 'tiny-linear', 'std/vit', 'std/llm', 'resolution/res-224', 'resolution/res-336',
      'resolution/res-378', 'ablations/tiny-resolution', 'ablations/tiny-data-mix', 'ablations/tiny-moe-vs-dense']) {
      expect(names).toContain(`specs/${f}.mm`);
    }
    for (const k of ['avgpool', 'attnpool', 'cabs']) for (const t of [64, 144]) expect(names).toContain(`specs/connectors/${k}-${t}.mm`);
  });

  it.each(shippedFiles.map(rel))('%s checks clean', (f) => {
    const r = checkFile(join(specsDir, '..', f));
    expect(r.diagnostics).toEqual([]);
    if (!f.includes('/std/')) expect(r.value).toBeDefined();
  });

  it.each(shippedFiles.map(rel))('%s formats idempotently with the same AST', (f) => {
    const src = shippedText.get(join(specsDir, '..', f))!;
    const once = formatSource(src, f);
    expect(once.diagnostics).toEqual([]);
    const twice = formatSource(once.value!, f);
    expect(twice.value).toBe(once.value);
    expect(strip(parseSpec(once.value!, f).value)).toEqual(strip(parseSpec(src, f).value));
    expect(parseSpec(once.value!, f).value!.comments.map((c) => c.text)).toEqual(parseSpec(src, f).value!.comments.map((c) => c.text));
    expect(once.value, `${f} is not canonically formatted: run mm fmt --write`).toBe(src);
  });

  it('ViT-L/14 at 336 px is ≈ 303M parameters', () => {
    const c = countParams(check('mm1-base.mm').value!.model);
    expect(c.encoder).toBe(303_504_384);
    expect(Math.abs(c.encoder - 303e6) / 303e6).toBeLessThan(0.01);
  });

  it('the decoders have the sizes they are named for', () => {
    const dec = (f: string) => countParams(check(f).value!.model).decoder;
    expect(dec('mm1-base.mm') / 1e9).toBeCloseTo(1.2, 1);
    expect(dec('mm1-3b.mm') / 1e9).toBeGreaterThan(2.9);
    expect(dec('mm1-3b.mm') / 1e9).toBeLessThan(3.5);
    expect(dec('mm1-7b.mm') / 1e9).toBeGreaterThan(6.5);
    expect(dec('mm1-7b.mm') / 1e9).toBeLessThan(7.6);
    expect(dec('mm1-30b.mm') / 1e9).toBeGreaterThan(29);
    expect(dec('mm1-30b.mm') / 1e9).toBeLessThan(34);
  });

  it('MoE totals are in line with the published 64B and 47B', () => {
    const moe3 = countParams(check('mm1-3b-moe.mm').value!.model);
    const moe7 = countParams(check('mm1-7b-moe.mm').value!.model);
    expect(Math.abs(moe3.total - 64e9) / 64e9).toBeLessThan(0.03);
    expect(Math.abs(moe7.total - 47e9) / 47e9).toBeLessThan(0.03);
    expect(moe3.activePerToken).toBeLessThan(moe3.total / 10);
  });

  it('tiny specs are tiny and their FLOPs and memory are positive', () => {
    for (const f of ['tiny.mm', 'tiny-moe.mm', 'tiny-text.mm', 'tiny-avgpool.mm', 'tiny-attnpool.mm', 'tiny-linear.mm']) {
      const spec = check(f).value!;
      const c = countParams(spec.model);
      expect(c.total).toBeLessThan(1e6);
      expect(flopsPerToken(spec.model).decoderPerToken).toBeGreaterThan(0);
      expect(memoryEstimate(spec).total).toBeGreaterThan(16 * c.total);
    }
  });

  it('sweeps expand over params, including the data block, the model choice and data weights', () => {
    const mix = check('ablations/tiny-data-mix.mm').value!;
    expect(mix.sweeps[0]!.axes.map((a) => a.param)).toEqual(['mix']);
    const captionsOnly = checkFile(join(specsDir, 'ablations/tiny-data-mix.mm'), { overrides: { mix: 'captions_only' } }).value!;
    expect(captionsOnly.data!.sources.map((x) => x.kind)).toEqual(['captions']);
    const conn = checkFile(join(specsDir, 'ablations/tiny-connector.mm'), { overrides: { arch: 'm_avgpool' } }).value!;
    expect(conn.model.connector!.kind).toBe('avg_pool');
    const arch = check('ablations/tiny-moe-vs-dense.mm');
    expect(arch.value!.sweeps[0]!.axes[0]!.values).toEqual(['dense', 'moe']);
    const moe = checkFile(join(specsDir, 'ablations/tiny-moe-vs-dense.mm'), { overrides: { arch: 'moe' } }).value!;
    expect(moe.model.decoder.moe?.experts).toBe(4);
    expect(moe.origins['train.model']?.kind).toBe('override');
    expect(moe.model.decoder.ffn * moe.model.decoder.moe!.topK).toBe(arch.value!.model.decoder.ffn);   // equal active FFN width
    const res = checkFile(join(specsDir, 'ablations/tiny-resolution.mm'), { overrides: { res: '64', tokens: '16' } }).value!;
    expect(res.model.encoder!.image).toBe(64);
    expect(res.model.connector!.tokens).toBe(16);
  });

  it('tiny.mm resolves to the documented shapes and absolute data paths', () => {
    const s = check('tiny.mm').value!;
    expect(s.model.encoder).toMatchObject({ image: 32, patch: 8, width: 32, depth: 1, heads: 2, mlp: 64, channels: 3, posRes: 32 });
    expect(s.model.connector).toMatchObject({ kind: 'c_abstractor', tokens: 4, depth: 1, hidden: 32 });
    expect(s.model.decoder).toMatchObject({ vocab: 512, width: 64, depth: 2, heads: 4, kvHeads: 2, ffn: 128, maxSeq: 64, tied: false });
    expect(s.data!.sources.map((x) => x.path)).toEqual(['captions.jsonl', 'interleaved.jsonl', 'text.txt'].map((n) => join(specsDir, '..', 'runs/data/synth', n)));
    expect(s.data!.sources.map((x) => x.weight)).toEqual([45, 45, 10]);
    expect(s.train).toMatchObject({ steps: 200, batch: 8, microBatch: 8, precision: 'f32', schedule: { kind: 'cosine', warmup: 20, final: 0.1 }, checkpoint: { every: 100, keep: 2 } });
    expect(s.train!.optimizer).toEqual({ kind: 'adamw', lr: 3e-3, betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1.0 });
    expect(s.eval).toEqual({ captioning: { shots: [0, 4], maxNewTokens: 20 }, vqa: { shots: [0, 4], maxNewTokens: 5 }, seeds: 1, beam: 1 });
    expect(s.origins['model.encoder.image']).toMatchObject({ kind: 'literal', line: 5 });
    expect(s.origins['model.decoder.tied']).toEqual({ kind: 'default' });
  });
});
