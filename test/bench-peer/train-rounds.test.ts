// `mm bench train --rounds N` (bench/train.ts): ours and the TensorFlow.js decoder alternate run by run on the
// real adapter, and each side's reported run is its median; every run's rate is kept.
import { beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from '../../runtime/device.js';
import { gpu } from '../helpers/gpu.js';
import { benchTrain, formatTrainReport } from '../../bench/train.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await gpu(); });

describe('mm bench train --rounds', () => {
  it('alternates ours and tfjs, reports the median runs and keeps every rate', async () => {
    const [row] = await benchTrain(dev, ['tiny'], { steps: 1, rounds: 3 });
    const r = row!;
    expect(r.rounds!.ours).toHaveLength(3);
    expect(r.rounds!.peer).toHaveLength(3);
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
    expect(r.ours.tokensPerSecond).toBe(median(r.rounds!.ours));
    expect(r.peer && 'tokensPerSecond' in r.peer ? r.peer.tokensPerSecond : NaN).toBe(median(r.rounds!.peer));
    expect(r.ours.kernels).toBeGreaterThan(0);
    expect(formatTrainReport('lavapipe', [r])).toContain('medians of 3 runs each');
  });
});
