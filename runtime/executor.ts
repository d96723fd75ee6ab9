// Runs a compiled Program on a GpuDevice: pipelines created concurrently (cached by the device), buffers from
// the device's pool, bind groups built once. A step is one command encoder and one compute pass (every kernel
// in schedule order), then the assign copies, one submit. Sizes that vary at run time are graph inputs.

import type { GpuDevice } from './device.js';
import type { Program, ProgramBuffer } from '../compiler/codegen/program.js';
import { decode, encode, poolFor, type BufferPool } from './buffers.js';

export class Executor {
  private constructor(
    private readonly dev: GpuDevice,
    readonly program: Program,
    private readonly pool: BufferPool,
    readonly buffers: GPUBuffer[],
    private readonly pipelines: GPUComputePipeline[],
    private readonly bindGroups: GPUBindGroup[],
  ) {}

  static async create(dev: GpuDevice, program: Program): Promise<Executor> {
    const pool = poolFor(dev);
    const pipelines = await Promise.all(program.kernels.map((k, i) => dev.pipeline(`k${i}_${k.name}`, k.wgsl)));
    const buffers = program.buffers.map((b) => pool.acquire(b.bytes, b.name ?? `${b.kind}${b.id}`));
    // Pooled buffers may hold old data: zero the persistent ones, write constants.
    for (const b of program.buffers) {
      if (b.kind === 'temp' || b.kind === 'output') continue;
      const data = b.data ?? [];
      dev.write(buffers[b.id]!, new Uint8Array(encode(b.dtype, data, b.bytes)));
    }
    const bindGroups = program.kernels.map((k, i) => dev.device.createBindGroup({
      label: `k${i}_${k.name}`,
      layout: pipelines[i]!.getBindGroupLayout(0),
      entries: k.bindings.map((id, binding) => ({ binding, resource: { buffer: buffers[id]! } })),
    }));
    return new Executor(dev, program, pool, buffers, pipelines, bindGroups);
  }

  private leaf(name: string): ProgramBuffer {
    const id = this.program.leaves[name];
    if (id === undefined) throw new Error(`no leaf named '${name}' in the program`);
    return this.program.buffers[id]!;
  }

  private writeBuf(b: ProgramBuffer, data: ArrayBufferView & ArrayLike<number>): void {
    const n = b.shape.reduce((a, d) => a * d, 1);
    if (data.length !== n) throw new Error(`'${b.name}' expects ${n} elements, got ${data.length}`);
    this.dev.write(this.buffers[b.id]!, new Uint8Array(encode(b.dtype, data, b.bytes)));
  }

  setInput(name: string, data: ArrayBufferView & ArrayLike<number>): void { this.writeBuf(this.leaf(name), data); }
  setParam(name: string, data: Float32Array): void { this.writeBuf(this.leaf(name), data); }
  setState(name: string, data: Float32Array | Int32Array): void { this.writeBuf(this.leaf(name), data); }
  hasLeaf(name: string): boolean { return name in this.program.leaves; }

  private async readBuf(b: ProgramBuffer, shape = b.shape): Promise<Float32Array | Int32Array> {
    const n = shape.reduce((a, d) => a * d, 1);
    const bytes = Math.max(4, Math.ceil((b.dtype === 'f16' ? 2 : 4) * n / 4) * 4);
    return decode(b.dtype, await this.dev.read(this.buffers[b.id]!, bytes), n);
  }

  readParam(name: string): Promise<Float32Array | Int32Array> { return this.readBuf(this.leaf(name)); }
  readState(name: string): Promise<Float32Array | Int32Array> { return this.readBuf(this.leaf(name)); }
  readOutput(name: string): Promise<Float32Array | Int32Array> {
    const id = this.program.outputs[name];
    if (id === undefined) throw new Error(`no output named '${name}' (have ${Object.keys(this.program.outputs).join(', ')})`);
    return this.readBuf(this.program.buffers[id]!);
  }

  /** Fill every temp and output buffer with a byte pattern (tests poison them with NaN: 0xff). */
  poison(byte = 0xff): void {
    for (const b of this.program.buffers) {
      if (b.kind === 'temp' || b.kind === 'output') this.dev.write(this.buffers[b.id]!, new Uint8Array(b.bytes).fill(byte));
    }
  }

  /** The assigns that are not done in place: copies of the new values onto their leaves. */
  private encodeAssigns(enc: GPUCommandEncoder): void {
    for (const a of this.program.assigns) {
      if (a.inPlace) continue;
      enc.copyBufferToBuffer(this.buffers[a.value]!, 0, this.buffers[a.target]!, 0, this.program.buffers[a.target]!.bytes);
    }
  }

  /** Encodes and submits one step (does not wait). */
  run(): void {
    const enc = this.dev.device.createCommandEncoder({ label: 'step' });
    const pass = enc.beginComputePass({ label: 'kernels' });
    this.program.kernels.forEach((k, i) => {
      pass.setPipeline(this.pipelines[i]!);
      pass.setBindGroup(0, this.bindGroups[i]!);
      pass.dispatchWorkgroups(k.workgroups[0], k.workgroups[1], k.workgroups[2]);
    });
    pass.end();
    this.encodeAssigns(enc);
    this.dev.device.queue.submit([enc.finish()]);
  }

  /**
   * One step with every kernel in a compute pass of its own, timed by timestamp queries: GPU milliseconds per
   * kernel, in schedule order. The assigns run as in run(), so a profiled step is a real step. Null when the
   * adapter lacks 'timestamp-query'. Splitting the passes adds a little per-kernel cost; the sum is a bound.
   */
  async profile(): Promise<number[] | null> {
    if (!this.dev.caps.timestampQuery) return null;
    const d = this.dev.device, n = this.program.kernels.length;
    const PER_SET = 2048;                          // query sets hold at most 4096 queries: 2 per kernel
    const sets = Array.from({ length: Math.ceil(n / PER_SET) }, (_, i) => d.createQuerySet({ type: 'timestamp', count: 2 * Math.min(PER_SET, n - i * PER_SET) }));
    const resolve = d.createBuffer({ size: 16 * n, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    const enc = d.createCommandEncoder({ label: 'profiled step' });
    this.program.kernels.forEach((k, i) => {
      const set = sets[Math.floor(i / PER_SET)]!, q = 2 * (i % PER_SET);
      const pass = enc.beginComputePass({ label: `k${i}_${k.name}`, timestampWrites: { querySet: set, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 } });
      pass.setPipeline(this.pipelines[i]!);
      pass.setBindGroup(0, this.bindGroups[i]!);
      pass.dispatchWorkgroups(k.workgroups[0], k.workgroups[1], k.workgroups[2]);
      pass.end();
    });
    sets.forEach((set, j) => enc.resolveQuerySet(set, 0, set.count, resolve, j * PER_SET * 16));
    this.encodeAssigns(enc);
    d.queue.submit([enc.finish()]);
    const ns = new BigUint64Array(await this.dev.read(resolve));
    resolve.destroy();
    for (const s of sets) s.destroy();
    return Array.from({ length: n }, (_, i) => Math.max(0, Number(ns[2 * i + 1]! - ns[2 * i]!)) / 1e6);
  }

  /** One step, resolved when the GPU has finished it (raising any device error). */
  async step(): Promise<void> {
    this.run();
    await this.dev.sync();
  }

  destroy(): void {
    for (const b of this.buffers) this.pool.release(b);
    this.buffers.length = 0;
  }
}
