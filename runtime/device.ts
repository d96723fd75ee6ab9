// The one place that opens Dawn (npm `webgpu`). Holds the instance for the device's whole life (letting it be
// garbage-collected crashes the process, see shared/DAWN.md), requests the adapter's maximum limits and every
// useful feature, describes the adapter's capabilities for codegen, and compiles WGSL through error scopes
// into cached pipelines so a shader error becomes a typed error with line numbers and the kernel's name.

import { create, globals } from 'webgpu';
import { createHash } from 'node:crypto';

Object.assign(globalThis, globals);

export interface SubgroupMatrixConfig { M: number; N: number; K: number; componentType: string; resultComponentType: string }

/** What codegen needs to know about the adapter (plain data: it is also printed by `mm doctor --json`). */
export interface DeviceCaps {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  backend: string;
  f16: boolean;
  subgroups: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  timestampQuery: boolean;
  subgroupMatrixConfigs: SubgroupMatrixConfig[];
  features: string[];
  limits: Record<string, number>;
  software: boolean;            // a CPU implementation (llvmpipe/lavapipe, SwiftShader)
}

export class NoAdapterError extends Error {
  constructor() {
    super([
      'No WebGPU adapter: Dawn found no usable Vulkan driver.',
      'Install the software driver (Mesa >= 24 lavapipe). On Debian 12:',
      '  printf "Types: deb\\nURIs: http://deb.debian.org/debian\\nSuites: bookworm-backports\\nComponents: main\\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\\n" | sudo tee /etc/apt/sources.list.d/bookworm-backports.sources',
      '  sudo apt-get update && sudo apt-get install -y -t bookworm-backports mesa-vulkan-drivers libvulkan1',
      '(or run `bash .ci/install-vulkan.sh`). With a GPU, install its Vulkan driver (e.g. NVIDIA >= 535) and libvulkan1.',
    ].join('\n'));
    this.name = 'NoAdapterError';
  }
}

export interface WgslMessage { type: string; line: number; col: number; message: string }

/** A WGSL kernel that failed to compile or validate: carries the compiler's messages with line numbers. */
export class WgslError extends Error {
  constructor(readonly kernel: string, readonly messages: WgslMessage[], readonly source: string) {
    const lines = source.split('\n');
    const detail = messages.map((m) => `  ${kernel}.wgsl:${m.line}:${m.col}: ${m.type}: ${m.message}` +
      (m.line > 0 && lines[m.line - 1] !== undefined ? `\n    ${lines[m.line - 1]!.trim()}` : '')).join('\n');
    super(`WGSL kernel '${kernel}' failed to compile:\n${detail}`);
    this.name = 'WgslError';
  }
}

export class DeviceLostError extends Error {
  constructor(reason: string, message: string) { super(`GPU device lost (${reason}): ${message}`); this.name = 'DeviceLostError'; }
}

const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query', 'chromium-experimental-subgroup-matrix', 'subgroup-size-control'];

export interface OpenOptions { powerPreference?: GPUPowerPreference; features?: string[] }

export class GpuDevice {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();
  /** Errors raised outside any error scope (surfaced on the next sync point). */
  readonly uncaptured: string[] = [];
  lost: DeviceLostError | null = null;

  private constructor(
    private readonly instance: GPU,        // held: see header comment
    readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly caps: DeviceCaps,
  ) {
    device.addEventListener('uncapturederror', (ev) => {
      this.uncaptured.push((ev as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => { this.lost = new DeviceLostError(info.reason, info.message); });
  }

  static async open(opts: OpenOptions = {}): Promise<GpuDevice> {
    const instance = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
    const adapter = await instance.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
    if (!adapter) throw new NoAdapterError();
    const wanted = opts.features ?? WANTED_FEATURES;
    const requiredFeatures = [...adapter.features].filter((f) => wanted.includes(f)) as GPUFeatureName[];
    const requiredLimits: Record<string, number> = {};
    for (const key of limitKeys(adapter.limits)) {
      const v = (adapter.limits as unknown as Record<string, number>)[key];
      if (typeof v === 'number') requiredLimits[key] = v;
    }
    const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
    return new GpuDevice(instance, adapter, device, describe(adapter, device));
  }

  /** A compute pipeline for `wgsl`, cached by the text's hash; compile errors become WgslError. */
  pipeline(kernel: string, wgsl: string, entryPoint = 'main'): Promise<GPUComputePipeline> {
    const key = createHash('sha256').update(entryPoint).update('\0').update(wgsl).digest('hex');
    let p = this.pipelines.get(key);
    if (!p) {
      p = this.compile(kernel, wgsl, entryPoint);
      this.pipelines.set(key, p);
      p.catch(() => this.pipelines.delete(key));
    }
    return p;
  }

  get pipelineCount(): number { return this.pipelines.size; }

  private async compile(kernel: string, wgsl: string, entryPoint: string): Promise<GPUComputePipeline> {
    const d = this.device;
    d.pushErrorScope('validation');
    const module = d.createShaderModule({ code: wgsl, label: kernel });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    const scopeErr = await d.popErrorScope();
    if (errors.length > 0) {
      throw new WgslError(kernel, errors.map((m) => ({ type: m.type, line: m.lineNum, col: m.linePos, message: m.message })), wgsl);
    }
    if (scopeErr) throw new WgslError(kernel, [{ type: 'error', line: 0, col: 0, message: scopeErr.message }], wgsl);
    d.pushErrorScope('validation');
    let pipeline: GPUComputePipeline;
    try {
      pipeline = await d.createComputePipelineAsync({ label: kernel, layout: 'auto', compute: { module, entryPoint } });
    } catch (e) {
      await d.popErrorScope();
      throw new WgslError(kernel, [{ type: 'error', line: 0, col: 0, message: (e as Error).message }], wgsl);
    }
    const err = await d.popErrorScope();
    if (err) throw new WgslError(kernel, [{ type: 'error', line: 0, col: 0, message: err.message }], wgsl);
    return pipeline;
  }

  /** A storage buffer (copyable both ways). */
  buffer(size: number, label?: string, usage: number = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST): GPUBuffer {
    return this.device.createBuffer({ size: Math.max(4, Math.ceil(size / 4) * 4), usage, label });
  }

  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.device.queue.writeBuffer(buffer, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Copies `size` bytes of `buffer` from `offset` back to the CPU. */
  async read(buffer: GPUBuffer, size = buffer.size, offset = 0): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(buffer, offset, staging, 0, size);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const out = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  /** Waits for submitted work, then raises any device loss or uncaptured error. */
  async sync(): Promise<void> {
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  /** Throws the first pending asynchronous problem (device lost, uncaptured validation error). */
  check(): void {
    if (this.lost) throw this.lost;
    if (this.uncaptured.length > 0) {
      const msgs = this.uncaptured.splice(0);
      throw new Error(`GPU validation error: ${msgs.join('\n')}`);
    }
  }

  destroy(): void {
    this.device.destroy();
    void this.instance;
  }
}

function limitKeys(limits: GPUSupportedLimits): string[] {
  const keys = new Set<string>();
  for (let o: object | null = limits; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const k of Object.getOwnPropertyNames(o)) if (k !== 'constructor') keys.add(k);
  }
  return [...keys].filter((k) => typeof (limits as unknown as Record<string, unknown>)[k] === 'number');
}

function describe(adapter: GPUAdapter, device: GPUDevice): DeviceCaps {
  const info = adapter.info as GPUAdapterInfo & { subgroupMatrixConfigs?: SubgroupMatrixConfig[]; subgroupMinSize?: number; subgroupMaxSize?: number; backendType?: string };
  const features = [...device.features].sort();
  const limits: Record<string, number> = {};
  for (const k of limitKeys(device.limits)) limits[k] = (device.limits as unknown as Record<string, number>)[k]!;
  const configs = (info.subgroupMatrixConfigs ?? []).map((c) => ({
    M: c.M, N: c.N, K: c.K, componentType: String(c.componentType), resultComponentType: String(c.resultComponentType),
  }));
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return {
    vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description,
    backend: info.backendType ?? 'vulkan',
    f16: device.features.has('shader-f16'),
    subgroups: device.features.has('subgroups'),
    subgroupMinSize: info.subgroupMinSize ?? 0,
    subgroupMaxSize: info.subgroupMaxSize ?? 0,
    timestampQuery: device.features.has('timestamp-query'),
    subgroupMatrixConfigs: device.features.has('chromium-experimental-subgroup-matrix' as GPUFeatureName) ? configs : [],
    features, limits,
    software: /llvmpipe|lavapipe|swiftshader/.test(text),
  };
}

let shared: Promise<GpuDevice> | null = null;
/** One device per process (tests open it once per file; the CLI once per command). */
export function openDevice(opts?: OpenOptions): Promise<GpuDevice> {
  if (!shared) { shared = GpuDevice.open(opts); shared.catch(() => { shared = null; }); }
  return shared;
}
