// Opens the shared device for a GPU test file. There is no skip: a missing adapter fails the test with the
// device layer's message (which says how to install the software Vulkan driver).
import { openDevice, type GpuDevice } from '../../runtime/device.js';

export async function gpu(): Promise<GpuDevice> {
  return openDevice();
}

/** Seeded uniform numbers in [-1, 1) (mulberry32), so failures reproduce. */
export function randomArray(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
