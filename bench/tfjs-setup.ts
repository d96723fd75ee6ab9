// TensorFlow.js (full package: its gradients are registered only by `@tensorflow/tfjs`, not by tfjs-core) on its
// WebGPU backend, built on OUR GPUDevice so the peer and `mm` run on the very same device in the same process.
// Loaded lazily: only the benchmarks need it, and it is a devDependency.
//
// The backend is registered under the name 'webgpu' because tfjs keys its kernel registry by backend name (a
// backend named otherwise would have no kernels). If another module (bench/peers/tfjs.ts) already registered a
// 'webgpu' backend on this same device, it is reused as is.

import type * as TF from '@tensorflow/tfjs';
import { create } from 'webgpu';
import type { GpuDevice } from '../runtime/device.js';

export type Tf = typeof TF;

let held: GPU | null = null;   // navigator.gpu's instance, kept for the process (a collected instance crashes Dawn)

interface WebGpuBackendLike { device?: GPUDevice; commandEncoder?: unknown; endComputePassEncoder(): void; submitQueue(): void }

/** tfjs with its WebGPU backend on `dev.device`, selected as the current backend. */
export async function openTfjsWebgpu(dev: GpuDevice): Promise<Tf> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  // WebGPUBackend's constructor refuses to run unless `navigator.gpu` exists (Node 20 has no navigator).
  if (!g.navigator?.gpu) {
    held ??= create([]);
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: held }, configurable: true, writable: true });
  }
  const tfModule = (await import('@tensorflow/tfjs')) as Tf & { default?: Tf };
  const tf: Tf = tfModule.default ?? tfModule;
  const webgpu = (await import('@tensorflow/tfjs-backend-webgpu')) as { WebGPUBackend?: unknown; default?: { WebGPUBackend?: unknown } };
  const WebGPUBackend = (webgpu.WebGPUBackend ?? webgpu.default?.WebGPUBackend) as
    (new (device: GPUDevice, adapterInfo?: GPUAdapterInfo) => TF.KernelBackend) | undefined;
  if (!WebGPUBackend) throw new Error('tfjs: @tensorflow/tfjs-backend-webgpu exports no WebGPUBackend');

  const existing = tf.findBackend('webgpu') as (TF.KernelBackend & WebGpuBackendLike) | null;
  if (!existing || existing.device !== dev.device) {
    // Importing the backend registers a factory that opens its own adapter and device: replace it with ours.
    if (tf.engine().registryFactory['webgpu'] || existing) tf.removeBackend('webgpu');
    tf.registerBackend('webgpu', () => new WebGPUBackend(dev.device, dev.adapter.info), 100);
  }
  tf.enableProdMode();   // no per-op debug checks: the peer at its best
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs: the webgpu backend did not initialise on our device');
  await tf.ready();
  const b = tf.backend() as TF.KernelBackend & WebGpuBackendLike;
  if (b.device !== dev.device) throw new Error('tfjs: the webgpu backend is not on the shared device');
  return tf;
}

/** Submits what tfjs recorded and waits for the device (tfjs keeps a compute pass open across ops). */
export async function tfjsSync(tf: Tf, dev: GpuDevice): Promise<void> {
  const b = tf.backend() as TF.KernelBackend & WebGpuBackendLike;
  if (b.commandEncoder) { b.endComputePassEncoder(); b.submitQueue(); }
  await dev.device.queue.onSubmittedWorkDone();
}
