// End-to-end training on the real adapter (lavapipe in CI): the tiny multimodal spec learns (its loss falls
// below half its start), and a run interrupted then resumed reproduces the uninterrupted run's losses
// step for step (weights, optimizer state and data order all come back from the checkpoint).
import { beforeAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { checkFile } from '../../compiler/language.js';
import type { ResolvedSpec } from '../../compiler/semantics/spec.js';
import { synth } from '../../runtime/data/synth.js';
import { trainRun } from '../../runtime/train.js';
import { readMetrics } from '../../runtime/metrics-log.js';
import { gpu } from '../helpers/gpu.js';

let dataDir: string;
let work: string;

/** The shipped tiny spec, pointed at a fresh synthetic data set. */
function tinySpec(file = 'specs/tiny.mm'): ResolvedSpec {
  const r = checkFile(file);
  expect(r.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const spec = structuredClone(r.value!);
  for (const s of spec.data!.sources) s.path = path.join(dataDir, path.basename(s.path));
  return spec;
}

beforeAll(async () => {
  await gpu();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mm-train-'));
  dataDir = path.join(work, 'data');
  await synth({ out: dataDir, images: 400, seed: 3 });
});

describe('mm train on the GPU', () => {
  it('trains the tiny multimodal spec: loss falls below half its start in 60 steps', async () => {
    const spec = tinySpec();
    const r = await trainRun(spec, { out: path.join(work, 'run'), steps: 60, backend: 'gpu', progress: 'json' });
    expect(r.steps).toBe(60);
    expect(r.firstLoss).toBeGreaterThan(5.5);                 // ≈ ln(512) = 6.24 at initialisation
    expect(r.finalLoss).toBeLessThan(0.5 * r.firstLoss);
    const metrics = readMetrics(path.join(work, 'run', 'metrics.jsonl'));
    expect(metrics.length).toBe(60);
    for (const k of ['step', 'loss', 'lr', 'grad_norm', 'tokens_per_s']) expect(typeof metrics[0]![k]).toBe('number');
    expect(fs.existsSync(path.join(work, 'run', 'loss.svg'))).toBe(true);
    expect(fs.existsSync(path.join(work, 'run', 'latest'))).toBe(true);
  }, 900_000);

  it('--skip-bad: bad JSON, an undecodable image and a missing image are counted and skipped; without it the run stops at the first, naming file and line', async () => {
    const spec = tinySpec();
    const caps = spec.data!.sources.find((s) => s.kind === 'captions')!;
    const bad = path.join(dataDir, 'captions-bad.jsonl');
    fs.writeFileSync(path.join(dataDir, 'images', 'corrupt.png'), 'not a png');
    fs.writeFileSync(bad, ['{oops', JSON.stringify({ image: 'images/corrupt.png', caption: 'a red square' }),
      JSON.stringify({ image: 'images/missing.png', caption: 'a red square' }), fs.readFileSync(caps.path, 'utf8')].join('\n'));
    caps.path = bad;
    await expect(trainRun(spec, { out: path.join(work, 'bad-stop'), steps: 2, backend: 'gpu', progress: 'json' }))
      .rejects.toThrow(/captions-bad\.jsonl:1: bad JSON/);
    const r = await trainRun(spec, { out: path.join(work, 'bad-skip'), steps: 2, backend: 'gpu', progress: 'json', skipBad: true });
    expect(r.steps).toBe(2);
    expect(r.skippedRecords).toBe(3);
  }, 600_000);

  it('resumes exactly: interrupted after 3 steps and resumed equals an uninterrupted 6-step run', async () => {
    const spec = tinySpec('specs/tiny-text.mm');
    spec.train!.checkpoint.every = 3;
    const full = await trainRun(spec, { out: path.join(work, 'full'), steps: 6, backend: 'gpu', progress: 'json' });
    const part = path.join(work, 'part');
    await trainRun(spec, { out: part, steps: 6, backend: 'gpu', progress: 'json', onStep: (s) => s < 3 });
    const resumed = await trainRun(spec, { out: part, steps: 6, backend: 'gpu', progress: 'json', resume: true });
    expect(resumed.losses.length).toBe(3);
    const all = readMetrics(path.join(part, 'metrics.jsonl')).map((m) => m.loss as number);
    expect(all.length).toBe(6);
    for (let i = 0; i < 6; i++) expect(all[i]).toBeCloseTo(full.losses[i]!, 5);
  }, 900_000);
});
