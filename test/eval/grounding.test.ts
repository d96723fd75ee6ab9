// The image-use measure (runtime/eval/grounding.ts) on the CPU interpreter: rotating images is an exact
// permutation of the slots in use; a model whose connector output cannot depend on the image (zero projection
// weights) has a gap of exactly 0, one with random weights does not; pairs are counted as fed.

import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile } from '../../compiler/language.js';
import { lowerTrain } from '../../compiler/lower/index.js';
import { trainShape } from '../../compiler/compile.js';
import { trainBpe } from '../../runtime/data/tokenizer.js';
import type { Batch } from '../../runtime/data/batch.js';
import { captionPairs, measureGrounding, rotateImages, spreadImages } from '../../runtime/eval/grounding.js';
import { loadEvalDir } from '../../runtime/eval/run.js';
import { cpuEngineFactory } from '../../runtime/generate.js';
import { randomParams } from '../lower/harness.js';
import { writeEvalDir } from '../generate/fixtures.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-grounding-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('rotateImages', () => {
  it('moves image k+1 into slot k among the images present and leaves unused slots alone', () => {
    const px = 3, n = 3, slots = 5;
    const images = Float32Array.from({ length: slots * px }, (_, i) => (i < n * px ? 1 + Math.floor(i / px) : -7));
    const out = rotateImages({ images, numImages: n } as Batch, px);
    expect(Array.from(out)).toEqual([2, 2, 2, 3, 3, 3, 1, 1, 1, -7, -7, -7, -7, -7, -7]);
  });
});

describe('measureGrounding', () => {
  const specFile = path.join(tmp, 'g.mm');
  fs.writeFileSync(specFile, `mm 1
encoder v = vit { image 8; patch 4; width 8; depth 1; heads 2; mlp 16 }
connector c = avg_pool { tokens 4 }
decoder d = transformer { vocab 280; width 16; depth 1; heads 2; kv_heads 1; ffn 16 }
model m { encoder v; connector c; decoder d }
data caps { captions "unused.jsonl" weight 1 max_images 2; seq_len 32 }
train { data caps; batch 2; steps 10; schedule cosine { warmup 1 } }
`);
  const data = path.join(tmp, 'data');
  writeEvalDir(data, 6);
  const r = checkFile(specFile);
  const spec = r.value!;
  const tok = trainBpe(['a red green blue yellow small circle'], 275);
  const cap = loadEvalDir(data).captioning!;
  const pairs = captionPairs(cap);
  const { graph } = lowerTrain(spec.model, trainShape(spec));
  const weights = (zeroConnector: boolean) => new Map([...randomParams(graph, 3, 0.5)].map(([k, v]) => [
    k, zeroConnector && k.startsWith('connector.') ? new Float32Array(v.length) : Float32Array.from(v),
  ]));

  it('spec checks', () => expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]));

  it('is exactly 0 when the connector output cannot depend on the image', async () => {
    const g = await measureGrounding(spec, weights(true), tok, pairs, { factory: cpuEngineFactory({ precision: 'f64' }) });
    expect(g.gap).toBe(0);
    expect(g.loss).toBeGreaterThan(0);
    expect(g.pairs).toBeGreaterThanOrEqual(2);
    expect(g.pairs).toBeLessThanOrEqual(pairs.length);
  });

  it('is non-zero with random weights, and shuffledLoss − loss = gap', async () => {
    const g = await measureGrounding(spec, weights(false), tok, pairs, { factory: cpuEngineFactory({ precision: 'f64' }), batches: 2 });
    expect(Math.abs(g.gap)).toBeGreaterThan(1e-6);
    expect(g.shuffledLoss - g.loss).toBeCloseTo(g.gap, 12);
    expect(g.pairs).toBeLessThanOrEqual(2 * 2 * 2);  // 2 batches × 2 rows × 2 images
  });

  it('refuses a model without images', async () => {
    const text = { ...spec, model: { ...spec.model, encoder: undefined, connector: undefined } };
    await expect(measureGrounding(text, weights(false), tok, pairs, { factory: cpuEngineFactory() })).rejects.toThrow(/no image encoder/);
  });
});

describe('spreadImages', () => {
  it('puts each image\'s k-th caption in round k, keeping order within a round', () => {
    const p = (image: string, caption: string) => ({ image, caption });
    const pairs = [p('a', '1'), p('a', '2'), p('a', '3'), p('b', '1'), p('c', '1'), p('c', '2')];
    expect(spreadImages(pairs).map((x) => x.image + x.caption)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3']);
  });
});
