// What codegen may know about the adapter: the subset of runtime/device.ts's DeviceCaps that kernel emitters
// read. Plain data, declared here (compiler/ imports nothing from runtime/), so the compiler can emit WGSL
// for a device it never opened (tests, `mm compile --emit wgsl`) from CPU_SAFE_CAPS or from a saved JSON.

import type { MatmulOptions } from './matmul.js';

export interface SubgroupMatrixConfig { M: number; N: number; K: number; componentType: string; resultComponentType: string }

export interface KernelLimits {
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupsPerDimension: number;
}

export interface KernelCaps {
  f16: boolean;
  subgroups: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  software: boolean;
  vendor: string;
  limits: KernelLimits;
  /** Matmul options measured fastest on this adapter, by tuningKey (runtime/tuning.ts loads what `mm bench tune` stored). */
  matmulTuning?: Readonly<Record<string, MatmulOptions>>;
}

/** The WebGPU default limits (what any conforming device grants) and no optional feature. */
export const CPU_SAFE_CAPS: KernelCaps = Object.freeze({
  f16: false,
  subgroups: false,
  subgroupMinSize: 0,
  subgroupMaxSize: 0,
  subgroupMatrixConfigs: [],
  software: false,
  vendor: 'unknown',
  limits: Object.freeze({
    maxComputeWorkgroupStorageSize: 16384,
    maxComputeInvocationsPerWorkgroup: 256,
    maxStorageBuffersPerShaderStage: 8,
    maxComputeWorkgroupsPerDimension: 65535,
  }),
}) as KernelCaps;

/** Anything shaped like DeviceCaps (limits as a loose record) → KernelCaps; missing limits take the defaults. */
export function kernelCaps(dc: {
  f16: boolean; subgroups: boolean; subgroupMinSize: number; subgroupMaxSize: number;
  subgroupMatrixConfigs: readonly SubgroupMatrixConfig[]; software: boolean; vendor: string;
  limits: Readonly<Record<string, number>>;
}): KernelCaps {
  const d = CPU_SAFE_CAPS.limits;
  const lim = (k: keyof KernelLimits): number => dc.limits[k] ?? d[k];
  return {
    f16: dc.f16, subgroups: dc.subgroups, subgroupMinSize: dc.subgroupMinSize, subgroupMaxSize: dc.subgroupMaxSize,
    subgroupMatrixConfigs: dc.subgroupMatrixConfigs.map((c) => ({ ...c })), software: dc.software, vendor: dc.vendor,
    limits: {
      maxComputeWorkgroupStorageSize: lim('maxComputeWorkgroupStorageSize'),
      maxComputeInvocationsPerWorkgroup: lim('maxComputeInvocationsPerWorkgroup'),
      maxStorageBuffersPerShaderStage: lim('maxStorageBuffersPerShaderStage'),
      maxComputeWorkgroupsPerDimension: lim('maxComputeWorkgroupsPerDimension'),
    },
  };
}

/** True when the adapter offers f16×f16→f32 subgroup matrices of shape M×N×K. */
export function hasSubgroupMatrix(caps: KernelCaps, M = 16, N = 16, K = 16): boolean {
  return caps.subgroupMatrixConfigs.some((c) => c.M === M && c.N === N && c.K === K &&
    c.componentType === 'f16' && c.resultComponentType === 'f32');
}

/**
 * Whether a software adapter's kernel can share per-lane values with subgroupBroadcast: subgroups of at least
 * `lanes` lanes, and a workgroup of `wg` invocations made of whole subgroups (so every subgroup holds lanes
 * 0..lanes-1). llvmpipe loads per lane inside loops even where every lane reads the same address, so values
 * all lanes need are loaded by one lane each and broadcast (matmul.ts sharesA, attention sharesKeys).
 */
export function subgroupSharing(caps: KernelCaps, lanes: number, wg: number): boolean {
  return caps.software && caps.subgroups && caps.subgroupMinSize >= lanes && caps.subgroupMaxSize > 0 && wg % caps.subgroupMaxSize === 0;
}
