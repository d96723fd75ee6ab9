// The benchmark's bandwidth ceiling: a plain vec4 copy kernel (the other memory-bound rows of `mm bench kernels`
// time the kernels our compiler emits; bench/programs.ts). On software adapters the copy strides through the
// vectors from a few workgroups, as the compiler's generic kernels do there (lavapipe pays per workgroup).

import { flatDispatch } from '../compiler/codegen/matmul-common.js';

export interface SimpleKernel { name: string; wgsl: string; workgroups: [number, number, number]; bytes: number; bindings: number }

const WG = 256;

/** out = x, as vec4: n4 vec4 elements, `per` of them per invocation (strided by the grid, so loads coalesce). */
export function copyKernel(n4: number, maxDim = 65535, per = 1): SimpleKernel {
  const wgs = Math.ceil(n4 / (WG * per)), d = flatDispatch(wgs, maxDim), stride = wgs * WG;
  if (per > 1) {
    return {
      name: `copy${per}`, bytes: n4 * 32, bindings: 2, workgroups: d,
      wgsl: `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * ${d[0]}u + wg.z * ${d[0] * d[1]}u) * ${WG}u + li;
${Array.from({ length: per }, (_, j) => `  let v${j} = select(vec4<f32>(0.0), x[min(i + ${j * stride}u, ${n4 - 1}u)], i + ${j * stride}u < ${n4}u);`).join('\n')}
${Array.from({ length: per }, (_, j) => `  if (i + ${j * stride}u < ${n4}u) { out[i + ${j * stride}u] = v${j}; }`).join('\n')}
}`,
    };
  }
  return {
    name: 'copy', bytes: n4 * 32, bindings: 2, workgroups: d,
    wgsl: `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * ${d[0]}u + wg.z * ${d[0] * d[1]}u) * ${WG}u + li;
  if (i < ${n4}u) { out[i] = x[i]; }
}`,
  };
}

/** out = x, as vec4, by `groups` workgroups of 64 invocations looping over the n4 vectors (software adapters). */
export function stridedCopyKernel(n4: number, groups = 64): SimpleKernel {
  return {
    name: 'copy', bytes: n4 * 32, bindings: 2, workgroups: [groups, 1, 1],
    wgsl: `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  for (var i = wg.x * 64u + li; i < ${n4}u; i += ${groups * 64}u) { out[i] = x[i]; }
}`,
  };
}
