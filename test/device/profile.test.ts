// Executor.profile: one GPU time per kernel from timestamp queries, and a profiled step is a real step (its
// updates equal run()'s, bit for bit except where atomics reorder a sum);
// `mm bench profile` reports kinds whose counts add up to the program.

import { describe, expect, it } from 'vitest';
import { GpuEngine } from '../../runtime/gpu-engine.js';
import { feedRandom, profileTarget, profileTrainStep } from '../../bench/profile.js';
import { gpu } from '../helpers/gpu.js';

describe('kernel profile', () => {
  it('times every kernel, and a profiled step updates the weights exactly as run() does', async () => {
    const dev = await gpu();
    expect(dev.caps.timestampQuery).toBe(true);     // lavapipe and the GPUs we target have it
    const { graph, vocab } = profileTarget('tiny');
    const a = await GpuEngine.create(dev, graph, { outputs: ['loss'], seed: 3 });
    const b = await GpuEngine.create(dev, graph, { outputs: ['loss'], seed: 3 });
    try {
      feedRandom(a, graph, vocab);
      feedRandom(b, graph, vocab);
      await a.run();
      const ms = await b.exec.profile();
      expect(ms).not.toBeNull();
      expect(ms!.length).toBe(b.program.kernels.length);
      expect(ms!.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
      expect(ms!.reduce((s, x) => s + x, 0)).toBeGreaterThan(0);
      expect(Array.from(await b.readOutput('loss'))).toEqual(Array.from(await a.readOutput('loss')));
      // Every parameter equal bit for bit, but the embedding: its gradient is a scatter-add with atomics, whose
      // summation order (so its last bits) differs from run to run even between two plain run()s.
      for (const n of a.leafNames('param')) {
        const x = await a.readLeaf(n), y = await b.readLeaf(n);
        if (n !== 'decoder.embed') expect(Array.from(y), n).toEqual(Array.from(x));
        else for (let i = 0; i < x.length; i++) expect(Math.abs(y[i]! - x[i]!), `${n}[${i}]`).toBeLessThan(1e-6);
      }
    } finally { a.dispose(); b.dispose(); }
  });

  it('groups kernels by kind: counts sum to the program, shares to 1', async () => {
    const r = await profileTrainStep(await gpu(), 'tiny', { steps: 1, top: 5 });
    expect(r.byKind.reduce((s, k) => s + k.count, 0)).toBe(r.kernels);
    expect(r.byKind.reduce((s, k) => s + k.share, 0)).toBeCloseTo(1, 6);
    expect(r.top).toHaveLength(5);
    expect(r.top[0]!.ms).toBeGreaterThanOrEqual(r.top[4]!.ms);
    await expect(profileTrainStep(await gpu(), 'nope')).rejects.toThrow(/unknown configuration 'nope'/);
  });
});
