// Engine: what runs a compiled graph step by step, on the GPU (runtime/gpu-engine.ts, through the executor)
// or on the CPU reference interpreter (runtime/reference-engine.ts). Training, generation and evaluation are
// written against this interface, so every one of them can be checked against the oracle.

export type HostArray = Float32Array | Int32Array;

export interface Engine {
  readonly kind: 'gpu' | 'cpu';
  /** Feeds a graph input (by the name the lowering declared) for the next run(). */
  setInput(name: string, data: HostArray): void;
  /** Whether the compiled graph reads this input (unused inputs may be pruned). */
  hasInput(name: string): boolean;
  /** Writes a param or state leaf (f32 master weights, optimizer moments, KV caches). */
  setLeaf(name: string, data: Float32Array): void;
  /** Reads a param or state leaf's current value. */
  readLeaf(name: string): Promise<Float32Array>;
  /** Runs one step: every kernel, then the graph's assigns (optimizer updates, cache writes). */
  run(): Promise<void>;
  /** Reads a named graph output of the last run(). */
  readOutput(name: string): Promise<Float32Array>;
  /** Names of the param and state leaves (what a checkpoint holds). */
  leafNames(kind: 'param' | 'state'): string[];
  dispose(): void;
}
