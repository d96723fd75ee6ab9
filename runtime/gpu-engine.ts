// The GPU Engine: compiles a graph to a Program for this device's capabilities and runs it through the
// executor. Params and state start from the same deterministic initialisation as the CPU reference engine,
// so both engines begin a run from identical weights.

import type { Graph } from '../compiler/ir/graph.js';
import { initLeaf } from '../compiler/ir/init.js';
import { render } from '../compiler/compile.js';
import type { Program } from '../compiler/codegen/program.js';
import type { GpuDevice } from './device.js';
import { Executor } from './executor.js';
import { tunedKernelCaps } from './tuning.js';
import type { Engine, HostArray } from './engine.js';

/** The program does not fit this adapter (a buffer over its binding limit, or out of memory). */
export class DeviceCapacityError extends Error {
  constructor(message: string) { super(message); this.name = 'DeviceCapacityError'; }
}

const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;

export class GpuEngine implements Engine {
  readonly kind = 'gpu' as const;
  private constructor(readonly exec: Executor, private readonly graph: Graph) {}

  static async create(dev: GpuDevice, graph: Graph, opts: { outputs: string[]; precision?: 'f32' | 'f16'; seed?: number; program?: Program }): Promise<GpuEngine> {
    const program = opts.program ?? render(graph, opts.outputs, tunedKernelCaps(dev.caps), opts.precision ?? 'f32');
    const limit = Math.min(dev.caps.limits.maxStorageBufferBindingSize ?? Infinity, dev.caps.limits.maxBufferSize ?? Infinity);
    const big = program.buffers.find((b) => b.bytes > limit);
    if (big) {
      throw new DeviceCapacityError(`buffer '${big.name ?? `${big.kind} #${big.id}`}' [${big.shape.join(', ')}] needs ${mib(big.bytes)}, but ${dev.caps.description || dev.caps.device} binds at most ${mib(limit)}; ` +
        `the model (${mib(program.peakBytes)} in all) is too large for this adapter: use a smaller spec, a smaller micro_batch or seq_len, or a GPU`);
    }
    dev.device.pushErrorScope('out-of-memory');
    const exec = await Executor.create(dev, program);
    const oom = await dev.device.popErrorScope();
    if (oom) {
      exec.destroy();
      throw new DeviceCapacityError(`out of GPU memory allocating ${mib(program.peakBytes)} on ${dev.caps.description || dev.caps.device}: ${oom.message}; use a smaller spec, micro_batch or seq_len`);
    }
    const engine = new GpuEngine(exec, graph);
    for (const [node, info] of graph.leaves) {
      if ((info.kind !== 'param' && info.kind !== 'state') || !info.init || info.init.kind === 'zeros') continue;
      const values = initLeaf(node.name!, node.shape, info.init, opts.seed ?? 0);
      engine.setLeaf(node.name!, node.dtype === 'i32' || node.dtype === 'u32' ? Int32Array.from(values) as unknown as Float32Array : Float32Array.from(values));
    }
    return engine;
  }

  get program(): Program { return this.exec.program; }

  setInput(name: string, data: HostArray): void { this.exec.setInput(name, data); }
  hasInput(name: string): boolean { return this.exec.hasLeaf(name); }
  setLeaf(name: string, data: Float32Array): void { this.exec.setState(name, data); }
  async readLeaf(name: string): Promise<Float32Array> { return Float32Array.from(await this.exec.readState(name)); }
  async run(): Promise<void> { await this.exec.step(); }
  async readOutput(name: string): Promise<Float32Array> { return Float32Array.from(await this.exec.readOutput(name)); }
  leafNames(kind: 'param' | 'state'): string[] {
    return [...this.graph.leaves].filter(([, i]) => i.kind === kind).map(([n]) => n.name!);
  }
  dispose(): void { this.exec.destroy(); }
}
