// The evaluation driver: on a fake model with known outputs, the metric table (CIDEr-D and VQA accuracy per
// shot count, mean ± std over seeds) is what the protocol implies; reading the synthetic eval layout; and one
// end-to-end pass through the KV-cache Generator on a random tiny multimodal model with real PNG files.

import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ciderD } from '../../runtime/eval/cider.js';
import { drawDemonstrations, type PromptItem } from '../../runtime/eval/fewshot.js';
import { formatTable, generatorCompleter, loadEvalDir, meanStd, runEval, type Completer } from '../../runtime/eval/run.js';
import { cpuEngineFactory } from '../../runtime/generate.js';
import { lowerDecode } from '../../compiler/lower/index.js';
import { randomParams } from '../lower/harness.js';
import { trainBpe } from '../../runtime/data/tokenizer.js';
import { conn, dec, model, vit } from '../lower/specs.js';
import { writeEvalDir } from './fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('eval driver on a fake model', () => {
  const dir = path.join(tmp, 'fake');
  writeEvalDir(dir, 6);
  const data = loadEvalDir(dir);

  it('reads the synthetic eval layout', () => {
    expect(data.captioning!.queries).toHaveLength(6);
    expect(data.captioning!.pool[0]!.image).toBe(path.join(dir, 'eval', 'images', 'pool_0.png'));
    expect(data.captioning!.refs.get('101')).toEqual(['a green circle', 'a small green circle']);
    expect(data.vqa!.queries[2]).toMatchObject({ question_id: 1020, answer: 'blue', image: path.join(dir, 'eval', 'images', 'e2.png') });
    expect(data.vqa!.pool).toHaveLength(6);
  });

  it('gives the expected metric table (mean ± std over seeds, answers cut at the next demonstration)', async () => {
    // Captions: the first reference, then the model rambles into a new demonstration (cut by the driver).
    // VQA: right at 0 shots; with demonstrations, right iff the first demonstration's question id ends in 0 mod 20.
    const byImage = new Map(data.captioning!.queries.map((q) => [q.image, q]));
    const vqaByImage = new Map(data.vqa!.queries.map((q) => [q.image, q]));
    const seen: string[] = [];
    const fake: Completer = {
      async complete(items: PromptItem[], task) {
        const imgs = items.filter((i): i is { image: string } => 'image' in i);
        const q = imgs[imgs.length - 1]!.image;
        seen.push(`${task}:${imgs.length - 1}`);
        if (task === 'captioning') return ` ${byImage.get(q)!.caption}\nOutput: something else`;
        const vq = vqaByImage.get(q)!;
        if (imgs.length === 1) return ` ${vq.answer}\n`;
        const firstDemo = data.vqa!.pool.find((p) => p.image === imgs[0]!.image)!;
        return Number(firstDemo.id) % 20 === 0 ? ` ${vq.answer} Question: x` : ' purple';
      },
    };
    const report = await runEval(data, fake, { shots: [0, 2], seeds: 3, maxNewTokens: { captioning: 20, vqa: 5 } });
    // 0-shot runs once; 2-shot once per seed; every prompt has the right number of demonstrations.
    expect(seen.filter((s) => s === 'captioning:0')).toHaveLength(6);
    expect(seen.filter((s) => s === 'vqa:2')).toHaveLength(18);

    const cider = 100 * ciderD(data.captioning!.refs, new Map(data.captioning!.queries.map((q) => [q.id as string, q.caption]))).score;
    expect(report.results.captioning!['0']!.mean).toBeCloseTo(cider, 10);
    expect(report.results.captioning!['2']).toMatchObject({ std: 0, perSeed: [cider, cider, cider].map((c) => expect.closeTo(c, 10)) });
    expect(report.results.vqa!['0']).toEqual({ mean: 100, std: 0, perSeed: [100] });
    const perSeed = [0, 1, 2].map((seed) => {
      const right = data.vqa!.queries.filter((q) => Number(drawDemonstrations(data.vqa!.pool, q, 2, seed)[0]!.id) % 20 === 0).length;
      return Math.round((10000 * right) / 6) / 100;
    });
    expect(report.results.vqa!['2']!.perSeed).toEqual(perSeed);
    expect(report.results.vqa!['2']!.mean).toBeCloseTo(meanStd(perSeed).mean, 10);
    expect(report.predictions.captioning!['2']![1]![0]).toEqual({ image_id: '100', caption: 'a red circle' });

    const table = formatTable(report);
    const { mean, std } = meanStd(perSeed);
    expect(table.split('\n')).toEqual([
      '| metric | 0-shot | 2-shot |',
      '| --- | --- | --- |',
      `| CIDEr-D | ${cider.toFixed(2)} ± 0.00 | ${cider.toFixed(2)} ± 0.00 |`,
      `| VQA acc | 100.00 ± 0.00 | ${mean.toFixed(2)} ± ${std.toFixed(2)} |`,
    ]);
  });

  it('more shots than the pool holds is an input error', async () => {
    await expect(runEval(data, { complete: async () => '' }, { shots: [6], seeds: 1, maxNewTokens: { captioning: 3, vqa: 3 } })).rejects.toThrow(/6-shot prompts need 6 demonstrations besides the query, but the pool has 6/);
  });

  it('limit evaluates the first N queries only', async () => {
    let n = 0;
    const r = await runEval(data, { complete: async () => { n++; return 'x'; } }, { shots: [0], seeds: 1, maxNewTokens: { captioning: 3, vqa: 3 }, limit: 2 });
    expect(n).toBe(4);
    expect(r.predictions.vqa!['0']![0]).toHaveLength(2);
  });
});

describe('eval through the Generator (CPU reference engine)', () => {
  it('runs 0- and 1-shot captioning and VQA on a random tiny model with PNG images', async () => {
    const dir = path.join(tmp, 'real');
    writeEvalDir(dir, 3);
    const data = loadEvalDir(dir);
    const tok = trainBpe(['a red circle', 'a small green circle', 'Output: Question: Short answer:'], 270);
    const m = model(dec({ vocab: 272, width: 8, depth: 1, heads: 2, kvHeads: 1, ffn: 8, maxSeq: 256 }), vit({ image: 8, patch: 4 }), conn('avg_pool', { tokens: 4 }));
    const { graph } = lowerDecode(m, { B: 1, Tn: 1, Tmax: 2, maxImages: 1 });
    const weights = new Map([...randomParams(graph, 9, 0.5)].map(([k, v]) => [k, Float32Array.from(v)]));
    const evalWith = async (batch: number) => {
      const completer = generatorCompleter({ factory: cpuEngineFactory(), model: m, tok, weights, prefillChunk: 16, batch });
      const report = await runEval(data, completer, { shots: [0, 1], seeds: 1, maxNewTokens: { captioning: 4, vqa: 2 }, batchSize: batch });
      completer.dispose();
      return report;
    };
    const one = await evalWith(1);
    for (const t of ['captioning', 'vqa'] as const) for (const k of ['0', '1']) {
      expect(Number.isFinite(one.results[t]![k]!.mean)).toBe(true);
      expect(one.predictions[t]![k]![0]).toHaveLength(3);
    }
    // Batched greedy decoding (a left-padded batch of 2, the last one short) gives the same predictions.
    const two = await evalWith(2);
    expect(two.predictions).toEqual(one.predictions);
  });
});
