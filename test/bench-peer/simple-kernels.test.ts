// The bandwidth-ceiling copies of `mm bench kernels` (bench/simple-kernels.ts) copy every vector, on odd sizes:
// a copy that skipped some would report a ceiling it never reached.
import { beforeAll, describe, expect, it } from 'vitest';
import type { GpuDevice } from '../../runtime/device.js';
import { gpu } from '../helpers/gpu.js';
import { copyKernel, stridedCopyKernel, type SimpleKernel } from '../../bench/simple-kernels.js';

let dev: GpuDevice;
beforeAll(async () => { dev = await gpu(); });

async function runCopy(k: SimpleKernel, n4: number): Promise<{ src: Float32Array; dst: Float32Array }> {
  const src = Float32Array.from({ length: n4 * 4 }, (_, i) => i * 0.5 + 1);
  const x = dev.buffer(n4 * 16, 'x'), out = dev.buffer(n4 * 16, 'out');
  dev.write(x, src);
  const p = await dev.pipeline(`test_${k.name}`, k.wgsl);
  const bg = dev.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries: [x, out].map((buffer, binding) => ({ binding, resource: { buffer } })) });
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(p); pass.setBindGroup(0, bg); pass.dispatchWorkgroups(...k.workgroups); pass.end();
  dev.device.queue.submit([enc.finish()]);
  const dst = new Float32Array(await dev.read(out));
  x.destroy(); out.destroy();
  return { src, dst };
}

describe('bench copy kernels', () => {
  it('one and two vectors per invocation, and the strided copy of software adapters, copy everything', async () => {
    for (const n4 of [1, 1000, 70001]) {
      for (const k of [copyKernel(n4, 65535, 1), copyKernel(n4, 65535, 2), stridedCopyKernel(n4), stridedCopyKernel(n4, 3)]) {
        const { src, dst } = await runCopy(k, n4);
        expect(dst, `${k.name} over ${n4} vec4s, ${k.workgroups[0]} workgroups`).toEqual(src);
      }
    }
  });
});
