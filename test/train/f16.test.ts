// Mixed precision: with `precision f16` the step computes activations and matmuls in f16 (f32 accumulation)
// while master weights and the AdamW update stay f32, and the loss follows the f32 run's closely.
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile } from '../../compiler/language.js';
import { synth } from '../../runtime/data/synth.js';
import { trainRun } from '../../runtime/train.js';
import { gpu } from '../helpers/gpu.js';

let work: string;
beforeAll(async () => {
  const dev = await gpu();
  expect(dev.caps.f16).toBe(true);                      // lavapipe and NVIDIA (with the toggle) both have it
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-f16-'));
  await synth({ out: path.join(work, 'data'), images: 100, seed: 9 });
});

describe('f16 training', () => {
  it('trains tiny-text in f16 with f32 master weights, tracking the f32 run', async () => {
    const losses: Record<string, number[]> = {};
    for (const precision of ['f32', 'f16'] as const) {
      const spec = structuredClone(checkFile('specs/tiny-text.mm').value!);
      for (const s of spec.data!.sources) s.path = path.join(work, 'data', path.basename(s.path));
      spec.train!.precision = precision;
      const r = await trainRun(spec, { out: path.join(work, precision), steps: 20, progress: 'json' });
      expect(r.steps).toBe(20);
      losses[precision] = r.losses;
    }
    const [a, b] = [losses.f32!, losses.f16!];
    expect(b[19]!).toBeLessThan(0.75 * b[0]!);
    for (let i = 0; i < 20; i++) expect(Math.abs(a[i]! - b[i]!) / a[i]!, `step ${i + 1}: f32 ${a[i]} f16 ${b[i]}`).toBeLessThan(0.05);
  }, 600_000);
});
