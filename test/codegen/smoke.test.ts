import { beforeAll, describe, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { check, randomFeeds } from './harness.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await openDevice(); });

describe('smoke', () => {
  it('elementwise + matmul epilogue + softmax', async () => {
    const g = new Graph();
    const x = g.input('x', [5, 7]);
    const w = g.param('w', [7, 9], { kind: 'zeros' });
    const b = g.param('b', [9], { kind: 'zeros' });
    const y = g.silu(g.add(g.matmul(x, w), b));
    g.output('y', y);
    g.output('s', g.softmax(g.mul(y, g.scalar(2)), -1));
    await check(dev, g, ['y', 's'], randomFeeds(g));
  });
});
