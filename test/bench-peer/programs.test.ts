// The compiled-program rows of `mm bench kernels` (bench/programs.ts) at toy shapes on the real adapter: attention
// and a transformer block, forward + backward (ours and TensorFlow.js's tf.grads), and one decoding step's
// attention over a KV cache, on the same device, each timed.
import { beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from '../../runtime/device.js';
import { gpu } from '../helpers/gpu.js';
import { benchPrograms } from '../../bench/programs.js';
import { openTfjs } from '../../bench/peers/tfjs.js';
import { BLOCK_STEP_KERNELS } from '../codegen/models.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await gpu(); });

describe('mm bench kernels: program rows', () => {
  it('times attention, a block forward+backward and a decoding step beside tfjs, with kernel counts and ratios', async () => {
    const peer = await openTfjs(dev);
    const rows = await benchPrograms(dev, peer, { quick: true, small: true, log: () => {} });
    peer.dispose();
    expect(rows.map((r) => r.name)).toEqual(['attention fwd+bwd', 'attention decode', 'block fwd+bwd']);
    for (const r of rows) {
      expect(r.note ?? '', r.name).not.toMatch(/tfjs:/);            // the peer ran (its gradients are registered)
      expect(r.ours).toBeGreaterThan(0);
      expect(r.peer!).toBeGreaterThan(0);
      expect(r.ratio).toBeCloseTo(r.ours / r.peer!, 10);
    }
    // Attention: forward (with lse), stats, dq, dk + dv and the loss's few small kernels; decoding: one kernel;
    // the block as its test bounds it.
    expect(Number(rows[0]!.variant.split(' ')[0])).toBeLessThanOrEqual(7);
    expect(rows[1]!.variant).toBe('1 kernel');
    expect(Number(rows[2]!.variant.split(' ')[0])).toBeLessThanOrEqual(BLOCK_STEP_KERNELS);
  });
});
