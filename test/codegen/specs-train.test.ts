// End to end through the whole compiler: the tiny text spec's training step (forward, loss, backward,
// clipping, AdamW with in-place updates) equals the CPU reference. (tiny.mm and tiny-moe.mm pass the same
// check by hand; they are kept out of CI for time: lavapipe compiles ~900 kernels cold.)
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { runStep, spec } from './spec-step.js';
import { lowerTrainStep } from '../../compiler/compile.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

describe('tiny-text spec end to end', () => {
  // Cold (no Mesa shader cache) lavapipe compiles ~280 kernels here: allow 240 s; warm it takes ~10 s.
  it('training step: loss, grad norm and every AdamW update equal the reference', { timeout: 240_000 }, async () => {
    const g = lowerTrainStep(spec());
    const p = await runStep(dev, g, ['loss', 'grad_norm'], () => null);
    expect(p.assigns.length).toBeGreaterThan(0);
    expect(p.assigns.every((a) => a.inPlace)).toBe(true);
  });

});
