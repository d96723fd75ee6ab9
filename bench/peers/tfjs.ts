// TensorFlow.js's WebGPU backend as the benchmark peer, on our own GPUDevice (WebGPUBackend takes a device),
// so both run on the same adapter in the same process. Loaded lazily: only `mm bench` needs it, and it is a
// devDependency. tfjs checks `navigator.gpu` before it agrees to run, so we provide one from the same Dawn.

import { create } from 'webgpu';
import type { GpuDevice } from '../../runtime/device.js';
import { timeWall, type Timing, type TimeOptions } from '../harness.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = any;
type Tensor = any;

let held: GPU | null = null;   // kept alive for the process: see DAWN.md (a collected instance crashes Dawn)

export interface TfjsPeer {
  tf: Tf;
  version: string;
  /** Milliseconds per call of `op` (wall clock, reps per sample, median), inputs made once. */
  time(make: () => Tensor[], op: (xs: Tensor[]) => Tensor, opts?: TimeOptions): Promise<Timing>;
  dispose(): void;
}

export async function openTfjs(gpu: GpuDevice): Promise<TfjsPeer> {
  const g = globalThis as any;
  if (!g.navigator?.gpu) {
    held ??= create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: held }, configurable: true, writable: true });
  }
  // The union package when present: unlike tfjs-core alone it registers the gradients that tf.grads needs (the
  // program rows). A trimmed install (the device pack) may hold only tfjs-core: the matmul and memory rows still run.
  let tfModule: Tf;
  try { tfModule = await import('@tensorflow/tfjs' as string); } catch { tfModule = await import('@tensorflow/tfjs-core' as string); }
  const tf: Tf = tfModule.default ?? tfModule;
  const webgpu: any = await import('@tensorflow/tfjs-backend-webgpu' as string);
  const WebGPUBackend = webgpu.WebGPUBackend ?? webgpu.default?.WebGPUBackend;
  // Importing the backend registers a factory that opens its own adapter: replace it with ours.
  if (tf.engine().registryFactory?.webgpu || tf.findBackend('webgpu')) tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(gpu.device, gpu.adapter.info), 100);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialise');
  await tf.ready();
  const backend = tf.backend();
  const sync = async () => {
    // tfjs keeps a compute pass open across ops: end it, then submit what it recorded.
    if (backend.commandEncoder) { backend.endComputePassEncoder(); backend.submitQueue(); }
    await gpu.device.queue.onSubmittedWorkDone();
  };
  return {
    tf,
    version: String(tf.version_core ?? tf.version?.['tfjs-core'] ?? '?'),
    async time(make, op, opts) {
      const xs = make();
      try {
        op(xs).dispose();                 // compile the program outside the clock
        await sync();
        return await timeWall(() => { op(xs).dispose(); }, sync, opts);
      } finally { for (const x of xs) x.dispose(); }
    },
    dispose() { tf.disposeVariables(); },
  };
}
