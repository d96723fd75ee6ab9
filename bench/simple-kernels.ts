// Plain memory-bound kernels for the benchmark: vec4 copy (the bandwidth ceiling), elementwise add, RMSNorm and
// softmax over rows of a [rows, D] f32 tensor. They stand in until the fusion engine's kernels are wired into
// `mm bench`; they are deliberately simple (one workgroup per row, a workgroup-memory tree reduction).

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

/** out = x + y, as vec4. */
export function addKernel(n4: number, maxDim = 65535): SimpleKernel {
  const wgs = Math.ceil(n4 / WG), d = flatDispatch(wgs, maxDim);
  return {
    name: 'add', bytes: n4 * 48, bindings: 3, workgroups: d,
    wgsl: `@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> y: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> out: array<vec4<f32>>;
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * ${d[0]}u + wg.z * ${d[0] * d[1]}u) * ${WG}u + li;
  if (i < ${n4}u) { out[i] = x[i] + y[i]; }
}`,
  };
}

const reduce = (op: string) => `  red[li] = v;
  workgroupBarrier();
  for (var s = ${RW / 2}u; s > 0u; s >>= 1u) {
    if (li < s) { red[li] = ${op}; }
    workgroupBarrier();
  }
  let r = red[0];
  workgroupBarrier();`;
const RW = 64;

/** out = x * rsqrt(mean(x²) + 1e-6) * w, per row of D. Bindings: x, w, out. */
export function rmsnormKernel(rows: number, D: number, maxDim = 65535): SimpleKernel {
  const d = flatDispatch(rows, maxDim);
  return {
    name: 'rmsnorm', bytes: rows * D * 8 + D * 4, bindings: 3, workgroups: d,
    wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
var<workgroup> red: array<f32, ${RW}>;
@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * ${d[0]}u + wg.z * ${d[0] * d[1]}u;
  if (row >= ${rows}u) { return; }
  let base = row * ${D}u;
  var v = 0.0;
  for (var i = li; i < ${D}u; i += ${RW}u) { let t = x[base + i]; v += t * t; }
${reduce('red[li] + red[li + s]')}
  let inv = inverseSqrt(r / ${D}.0 + 1e-6);
  for (var i = li; i < ${D}u; i += ${RW}u) { out[base + i] = x[base + i] * inv * w[i]; }
}`,
  };
}

/** out = softmax(x) per row of D. Bindings: x, out. */
export function softmaxKernel(rows: number, D: number, maxDim = 65535): SimpleKernel {
  const d = flatDispatch(rows, maxDim);
  return {
    name: 'softmax', bytes: rows * D * 8, bindings: 2, workgroups: d,
    wgsl: `@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
var<workgroup> red: array<f32, ${RW}>;
@compute @workgroup_size(${RW})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * ${d[0]}u + wg.z * ${d[0] * d[1]}u;
  if (row >= ${rows}u) { return; }
  let base = row * ${D}u;
  var v = -3.4e38;
  for (var i = li; i < ${D}u; i += ${RW}u) { v = max(v, x[base + i]); }
${reduce('max(red[li], red[li + s])')}
  let mx = r;
  v = 0.0;
  for (var i = li; i < ${D}u; i += ${RW}u) { v += exp(x[base + i] - mx); }
  {
${reduce('red[li] + red[li + s]')}
    let inv = 1.0 / r;
    for (var i = li; i < ${D}u; i += ${RW}u) { out[base + i] = exp(x[base + i] - mx) * inv; }
  }
}`,
  };
}
