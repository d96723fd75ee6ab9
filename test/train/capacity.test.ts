// A model too large for the adapter ends with a clear DeviceCapacityError before anything is allocated,
// never a crash or a half-built program.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { lowerTrain } from '../../compiler/lower/index.js';
import { GpuEngine, DeviceCapacityError } from '../../runtime/gpu-engine.js';
import { gpu } from '../helpers/gpu.js';

describe('device capacity', () => {
  it('rejects a buffer larger than the adapter can bind, naming it', async () => {
    const dev = await gpu();
    const limit = Math.min(dev.caps.limits.maxStorageBufferBindingSize!, dev.caps.limits.maxBufferSize!);
    const width = 64;
    const vocab = Math.ceil(limit / (4 * width)) + 1024;          // the embedding alone exceeds the limit
    const g = new Graph();
    lowerTrain({ name: 'huge', decoder: { name: 'd', kind: 'transformer', vocab, width, depth: 1, heads: 4, kvHeads: 4, ffn: 128, rope: 1e4, tied: true, normEps: 1e-5, maxSeq: 8 } }, { B: 1, T: 8, maxImages: 0 }, g);
    const err = await GpuEngine.create(dev, g, { outputs: ['loss'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeviceCapacityError);
    expect((err as Error).message).toMatch(/decoder\.embed|logits|too large for this adapter/);
    expect((err as Error).message).toContain('too large for this adapter');
  });
});
