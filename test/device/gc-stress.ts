// Child process for the GC stress test: many allocate/dispatch/read cycles with gc() forced between them.
// Run with `node --expose-gc --import tsx gc-stress.ts N`. Prints `ok N` on success.
import { openDevice } from '../../runtime/device.js';

const cycles = Number(process.argv[2] ?? 100);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const dev = await openDevice();
const wgsl = `@group(0) @binding(0) var<storage, read_write> b: array<f32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) { if (id.x < arrayLength(&b)) { b[id.x] = b[id.x] * 2.0 + 1.0; } }`;
for (let i = 0; i < cycles; i++) {
  const n = 256 + (i % 7) * 100;
  const buf = dev.buffer(n * 4);
  dev.write(buf, new Float32Array(n).fill(i));
  const pipe = await dev.pipeline('gc_double', wgsl);
  const bind = dev.device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
  const enc = dev.device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(Math.ceil(n / 64)); pass.end();
  dev.device.queue.submit([enc.finish()]);
  const out = new Float32Array(await dev.read(buf));
  if (out[n - 1] !== i * 2 + 1) throw new Error(`cycle ${i}: got ${out[n - 1]}`);
  if (i % 10 === 0) buf.destroy();       // half destroyed explicitly, half left to the garbage collector
  gc();
}
process.stdout.write(`ok ${cycles}\n`, () => process.exit(0));
