// The non-finite guard inside the compiled step: when the gradient norm is NaN or infinite (here forced by an
// infinite loss scale) the update is skipped on the GPU — parameters and Adam moments stay exactly as they were.
import { describe, expect, it } from 'vitest';
import { Graph } from '../../compiler/ir/graph.js';
import { lowerTrain } from '../../compiler/lower/index.js';
import { buildTrainStep } from '../../compiler/optim/adamw.js';
import { GpuEngine } from '../../runtime/gpu-engine.js';
import { gpu } from '../helpers/gpu.js';

describe('non-finite guard', () => {
  it('skips the update when the gradient norm is not finite, and applies it when it is', async () => {
    const dev = await gpu();
    const B = 2, T = 8;
    const g = new Graph();
    const { loss } = lowerTrain({ name: 'm', decoder: { name: 'd', kind: 'transformer', vocab: 32, width: 16, depth: 1, heads: 2, kvHeads: 2, ffn: 32, rope: 1e4, tied: false, normEps: 1e-5, maxSeq: T } }, { B, T, maxImages: 0 }, g);
    buildTrainStep(g, loss, { betas: [0.9, 0.95], eps: 1e-8, weightDecay: 0.1, clip: 1, accumulate: 1 });
    const e = await GpuEngine.create(dev, g, { outputs: ['loss', 'grad_norm'], seed: 1 });
    const tokens = Int32Array.from({ length: B * T }, (_, i) => (i * 5) % 32);
    e.setInput('tokens', tokens);
    e.setInput('targets', Int32Array.from(tokens, (t) => (t + 1) % 32));
    if (e.hasInput('segments')) e.setInput('segments', new Int32Array(B * T));
    if (e.hasInput('positions')) e.setInput('positions', Int32Array.from({ length: T }, (_, i) => i));
    for (const [n, v] of [['lr', 1e-2], ['bc1', 0.1], ['bc2', 0.05]] as const) e.setInput(n, new Float32Array([v]));
    const name = 'decoder.layers.0.attn.wq';
    const before = await e.readLeaf(name);

    e.setInput('loss_scale', new Float32Array([Infinity]));
    await e.run();
    expect(Number.isFinite((await e.readOutput('grad_norm'))[0]!)).toBe(false);
    expect(await e.readLeaf(name)).toEqual(before);
    expect((await e.readLeaf(`adam.m.${name}`)).every((x) => x === 0)).toBe(true);

    e.setInput('loss_scale', new Float32Array([1]));
    await e.run();
    expect(Number.isFinite((await e.readOutput('grad_norm'))[0]!)).toBe(true);
    const after = await e.readLeaf(name);
    expect(after.some((x, i) => x !== before[i])).toBe(true);
    e.dispose();
  });
});
