// End to end through the whole compiler: the tiny text spec's KV-cache prefill and decode steps (cache
// writes in place, attention over the cache by position) equal the CPU reference.
import { beforeAll, describe, expect, it } from 'vitest';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { runStep, spec } from './spec-step.js';
import { lowerInference } from '../../compiler/compile.js';
import { rand } from './harness.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

describe('tiny-text spec end to end', () => {
  it('KV-cache prefill (Tn = 5) and decode (Tn = 1): logits and caches, cache writes in place', async () => {
    const Tmax = 16;
    for (const Tn of [5, 1]) {
      const g = lowerInference(spec().model, { B: 1, Tn, Tmax, maxImages: 0 });
      const p = await runStep(dev, g, ['logits'], (name, n, kind) => {
        if (kind === 'state') return rand(n, 5, -1, 1);
        if (name === 'tokens') return Float64Array.from({ length: n }, (_, i) => 3 + i);
        if (name === 'positions') return Float64Array.from({ length: n }, (_, i) => 4 + i);
        if (name === 'cache_pos') return Float64Array.of(4);
        if (name === 'cache_seg') return Float64Array.from({ length: n }, (_, i) => (i < 4 + Tn ? 0 : -1));
        if (name === 'query_seg') return new Float64Array(n);
        return null;
      });
      expect(p.assigns.every((a) => a.inPlace)).toBe(true);
    }
  });
});
