// The compiled Program: plain JSON-able data that the runtime executor turns into GPU buffers, pipelines and
// bind groups. Buffers are physical (after memory planning, temps share them); kernels are in schedule order.
// Also the text forms printed by `mm compile --emit kernels|wgsl`.

import type { DType } from '../ir/node.js';
import type { MatmulShape } from './matmul.js';

export type BufferKind = 'param' | 'state' | 'input' | 'const' | 'temp' | 'output';

export interface ProgramBuffer {
  id: number;
  bytes: number;                 // multiple of 4
  dtype: DType;                  // storage dtype (f16 activations in f16 mode)
  shape: number[];               // logical shape of the first value stored there (temps are reused)
  kind: BufferKind;
  name?: string;                 // leaves and outputs
  data?: number[];               // const leaves: initial contents (in `dtype`)
}

export interface ProgramKernel {
  name: string;
  wgsl: string;
  nodes: number[];               // IR node ids computed in this kernel (the anchor last)
  ops: string[];                 // readable description of each node, e.g. '#12 matmul f32[64, 128]'
  bindings: number[];            // buffer ids, binding i = bindings[i] (group 0)
  workgroups: [number, number, number];
  /** Matmul kernels: the shape (without the epilogue's WGSL), what `mm bench tune` times. */
  matmul?: MatmulShape;
}

export interface ProgramAssign { target: number; value: number; inPlace: boolean; name: string }

export interface Program {
  precision: 'f32' | 'f16';
  buffers: ProgramBuffer[];
  kernels: ProgramKernel[];
  /** Applied after every kernel of a step: copy value → target unless done in place by a kernel. */
  assigns: ProgramAssign[];
  outputs: Record<string, number>;
  /** Leaf name → buffer id (params, state, inputs, consts). */
  leaves: Record<string, number>;
  peakBytes: number;             // sum of all buffers' bytes after reuse
  tempBytesUnplanned: number;    // what temps would take without reuse (to show the planner's gain)
}

const fmtBytes = (b: number): string => b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(1)} KiB` : `${b} B`;

/** `--emit kernels`: each kernel with the IR nodes it contains, its bindings and dispatch size. */
export function programKernelsText(p: Program): string {
  const out: string[] = [];
  out.push(`// ${p.kernels.length} kernels, ${p.buffers.length} buffers, peak ${fmtBytes(p.peakBytes)} (temps unplanned ${fmtBytes(p.tempBytesUnplanned)}), precision ${p.precision}`);
  for (const [i, k] of p.kernels.entries()) {
    const binds = k.bindings.map((b) => { const buf = p.buffers[b]!; return `${b}${buf.name ? `:${buf.name}` : ''}`; }).join(' ');
    out.push(`k${i} ${k.name}  wg=[${k.workgroups.join(',')}]  bind=[${binds}]`);
    for (const o of k.ops) out.push(`    ${o}`);
  }
  for (const a of p.assigns) out.push(`assign ${a.name} (buf ${a.target}) <- buf ${a.value}${a.inPlace ? ' (in place)' : ''}`);
  for (const [n, b] of Object.entries(p.outputs)) out.push(`output ${n} = buf ${b}`);
  return out.join('\n') + '\n';
}

/** `--emit wgsl`: every kernel's WGSL source, separated by a banner. */
export function programWgslText(p: Program): string {
  return p.kernels.map((k, i) => `// ───── k${i} ${k.name} (nodes ${k.nodes.join(', ')})\n${k.wgsl}`).join('\n');
}

/** Bytes a buffer of `n` elements of `dtype` takes (rounded up to 4, at least 4). */
export function bytesOf(dtype: DType, n: number): number {
  const b = dtype === 'f16' ? n * 2 : n * 4;
  return Math.max(4, Math.ceil(b / 4) * 4);
}

export { compileProgram, type CompileOptions } from './compile.js';
