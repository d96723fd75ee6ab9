// `node dist/bench/train-main.js [--configs tiny,5M] [--precision f32,f16] [--steps N] [--out FILE] [--budget S]`:
// the training-throughput benchmark as a standalone script (used on the GPU machine; `mm bench train` runs
// the same code). Writes JSON results as it goes, so a run cut short still leaves its figures.

import { writeFileSync } from 'node:fs';
import { openDevice } from '../runtime/device.js';
import { benchDecoderTrain, DECODER_CONFIGS, type TrainBenchResult } from './train.js';

const argv = process.argv.slice(2);
const arg = (n: string): string | undefined => { const i = argv.indexOf(n); return i >= 0 ? argv[i + 1] : undefined; };
const names = (arg('--configs') ?? 'tiny').split(',');
const precisions = (arg('--precision') ?? 'f32').split(',') as ('f32' | 'f16')[];
const steps = Number(arg('--steps') ?? 10);
const budget = Number(arg('--budget') ?? 1e9);
const out = arg('--out');
const t0 = performance.now();
const dev = await openDevice();
const results: (TrainBenchResult & { torch?: number; ratio?: number; error?: string })[] = [];
for (const name of names) {
  const cfg = DECODER_CONFIGS.find((c) => c.name === name);
  if (!cfg) { console.error(`unknown config ${name}`); process.exit(1); }
  for (const precision of precisions) {
    if ((performance.now() - t0) / 1e3 > budget) { console.log(`budget spent; skipping ${name} ${precision}`); continue; }
    try {
      const r = await benchDecoderTrain(dev, { ...cfg, precision }, { steps, log: (s) => console.log(s) });
      const torch = cfg.torch?.[precision === 'f16' ? 'bf16' : 'f32'];
      results.push({ ...r, torch, ratio: torch ? r.tokensPerSecond / torch : undefined });
      console.log(`${name} ${precision}: ${Math.round(r.tokensPerSecond)} tok/s, ${r.stepMs.toFixed(1)} ms/step, ${r.tflops.toFixed(2)} TFLOP/s, ${r.kernels} kernels` +
        (torch ? `; PyTorch eager (same card kind, issue #8) ${torch} tok/s → ×${(r.tokensPerSecond / torch).toFixed(2)}` : ''));
    } catch (e) {
      console.log(`${name} ${precision}: FAILED ${(e as Error).message.slice(0, 500)}`);
      results.push({ name, precision, error: (e as Error).message.slice(0, 2000) } as never);
    }
    if (out) writeFileSync(out, JSON.stringify({ device: dev.caps.description || dev.caps.device, vendor: dev.caps.vendor, date: new Date().toISOString(), results }, null, 2));
  }
}
process.exit(0);
