// The CPU Engine: runs a graph on the reference interpreter (runtime/reference.ts), holding params and state
// as Float64Array so an f64 run is the oracle for generation and training code written against Engine.
// Leaves start from the same deterministic initLeaf values as the GPU engine; assigns are applied after run().

import type { Graph } from '../compiler/ir/graph.js';
import { initLeaf } from '../compiler/ir/init.js';
import { numel } from '../compiler/ir/node.js';
import type { Engine, HostArray } from './engine.js';
import { evaluateStep, type Feed } from './reference.js';

export interface ReferenceEngineOptions {
  /** Seed for initLeaf (default 0). */
  seed?: number;
  /** 'f64' (default): exact oracle; 'f32': every float result rounded as a GPU f32 run would store it. */
  precision?: 'f64' | 'f32';
}

export class ReferenceEngine implements Engine {
  readonly kind = 'cpu' as const;
  private readonly leaves = new Map<string, Float64Array>();     // params and state
  private readonly inputs = new Map<string, Float64Array>();
  private outputs = new Map<string, Float64Array>();

  constructor(readonly graph: Graph, private readonly opts: ReferenceEngineOptions = {}) {
    for (const [node, info] of graph.leaves) {
      if (info.kind !== 'param' && info.kind !== 'state') continue;
      this.leaves.set(node.name!, info.init ? initLeaf(node.name!, node.shape, info.init, opts.seed ?? 0) : new Float64Array(numel(node.shape)));
    }
  }

  private leaf(name: string, kinds: readonly string[]): { shape: readonly number[] } {
    const n = this.graph.byName.get(name);
    const info = n && this.graph.leaves.get(n);
    if (!n || !info || !kinds.includes(info.kind)) throw new Error(`reference engine: the graph has no ${kinds.join('/')} named "${name}"`);
    return n;
  }

  setInput(name: string, data: HostArray): void {
    const n = this.leaf(name, ['input']);
    if (data.length !== numel(n.shape)) throw new Error(`reference engine: input "${name}" needs ${numel(n.shape)} values, got ${data.length}`);
    this.inputs.set(name, Float64Array.from(data));
  }

  hasInput(name: string): boolean {
    const n = this.graph.byName.get(name);
    return !!n && this.graph.leaves.get(n)?.kind === 'input';
  }

  setLeaf(name: string, data: Float32Array): void { this.setLeaf64(name, data); }

  /** Full-precision write (tests, and copies between reference engines that must stay exact). */
  setLeaf64(name: string, data: ArrayLike<number>): void {
    const n = this.leaf(name, ['param', 'state']);
    if (data.length !== numel(n.shape)) throw new Error(`reference engine: leaf "${name}" needs ${numel(n.shape)} values, got ${data.length}`);
    this.leaves.set(name, Float64Array.from(data));
  }

  async readLeaf(name: string): Promise<Float32Array> { return Float32Array.from(this.readLeaf64(name)); }

  readLeaf64(name: string): Float64Array {
    this.leaf(name, ['param', 'state']);
    return this.leaves.get(name)!;
  }

  async run(): Promise<void> {
    const feeds = new Map<string, Feed>([...this.inputs, ...this.leaves]);
    const { outputs, assigns } = evaluateStep(this.graph, feeds, { precision: this.opts.precision ?? 'f64', seed: this.opts.seed ?? 0 });
    this.outputs = new Map([...outputs].map(([k, v]) => [k, v.data]));
    for (const [name, v] of assigns) this.leaves.set(name, v.data);
  }

  async readOutput(name: string): Promise<Float32Array> { return Float32Array.from(this.readOutput64(name)); }

  readOutput64(name: string): Float64Array {
    const v = this.outputs.get(name);
    if (!v) throw new Error(`reference engine: no output "${name}" (${this.graph.outputs.has(name) ? 'run() first' : 'not a graph output'})`);
    return v;
  }

  leafNames(kind: 'param' | 'state'): string[] {
    return [...this.graph.leaves].filter(([, i]) => i.kind === kind).map(([n]) => n.name!);
  }

  dispose(): void { this.leaves.clear(); this.inputs.clear(); this.outputs.clear(); }
}
