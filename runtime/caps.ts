// Bridges the device's capability record to the compiler's KernelCaps (compiler/ never imports runtime/).

import type { DeviceCaps } from './device.js';
import type { KernelCaps } from '../compiler/codegen/caps.js';

export function kernelCaps(c: DeviceCaps): KernelCaps {
  return {
    f16: c.f16, subgroups: c.subgroups, subgroupMinSize: c.subgroupMinSize, subgroupMaxSize: c.subgroupMaxSize,
    subgroupMatrixConfigs: c.subgroupMatrixConfigs, software: c.software, vendor: c.vendor,
    limits: {
      maxComputeWorkgroupStorageSize: c.limits.maxComputeWorkgroupStorageSize ?? 16384,
      maxComputeInvocationsPerWorkgroup: c.limits.maxComputeInvocationsPerWorkgroup ?? 256,
      maxStorageBuffersPerShaderStage: c.limits.maxStorageBuffersPerShaderStage ?? 8,
      maxComputeWorkgroupsPerDimension: c.limits.maxComputeWorkgroupsPerDimension ?? 65535,
    },
  };
}
