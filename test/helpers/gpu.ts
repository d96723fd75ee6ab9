// Opens the shared device for a GPU test file. There is no skip: a missing adapter fails the test with the
// device layer's message (which says how to install the software Vulkan driver).
import { openDevice, type GpuDevice } from '../../runtime/device.js';
import { rng } from './random.js';

export async function gpu(): Promise<GpuDevice> {
  return openDevice();
}

/** Seeded uniform numbers in [-1, 1), so failures reproduce. */
export function randomArray(n: number, seed: number): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => next() * 2 - 1);
}
