// `mm/compiler`: the compiler as a library. Check, format and inspect .mm specs, lower them to the tensor IR,
// differentiate, and compile to WGSL kernels — from a string or a file. Nothing here imports `node:` modules
// or runtime/, so it bundles for a browser (examples/browser). User input never makes these functions throw:
// they return `{ value, diagnostics }`; an exception from the lowering or codegen is a compiler bug and is
// turned into an MM9999 diagnostic by the `inspect`/`emit`/`compileFile` helpers below.

import './ops/index.js';
import { checkFile, checkWithSources, parseSpec, type CheckOptions } from './language.js';
import { hasErrors, type Diagnostic, type Result } from './diagnostics/types.js';
import { compile, lowerTrainStep, render, trainShape, type Compiled } from './compile.js';
import { countParams, flopsPerToken, memoryEstimate, type Flops, type MemoryEstimate, type ParamCounts } from './semantics/counts.js';
import type { ResolvedSpec } from './semantics/spec.js';
import { lowerTrain } from './lower/index.js';
import { printGraph } from './ir/print.js';
import { programKernelsText, programWgslText } from './codegen/program.js';
import { CPU_SAFE_CAPS, type KernelCaps } from './codegen/caps.js';
import { currentDir, readFileFromDisk } from './semantics/host.js';
import { resolvePath } from './semantics/paths.js';

// ── the language: parse, check, format, diagnostics ────────────────────────────────────────────────────
export { parseSpec, formatSource, checkSource, checkFile, checkWithSources, findProjectRoot, isOk } from './language.js';
export type { CheckOptions } from './language.js';
export { renderDiagnostics, diagnosticLine } from './diagnostics/render.js';
export { hasErrors } from './diagnostics/types.js';
export type { Diagnostic, Result, Span } from './diagnostics/types.js';
export { catalog } from './diagnostics/catalog.js';
export type { Ast } from './syntax/ast.js';
export type {
  ResolvedSpec, ModelSpec, EncoderSpec, ConnectorSpec, DecoderSpec, MoeSpec, DataSpec, DataSourceSpec,
  TrainSpec, EvalSpec, SweepSpec, Origin,
} from './semantics/spec.js';

// ── sizes: parameters, FLOPs, memory ───────────────────────────────────────────────────────────────────
export { countParams, flopsPerToken, memoryEstimate, mm1LearningRate, encoderParams, connectorParams, decoderParams } from './semantics/counts.js';
export type { ParamCounts, Flops, MemoryEstimate } from './semantics/counts.js';

// ── the pipeline (compiler/compile.ts) ─────────────────────────────────────────────────────────────────
export { check, compile, trainShape, lowerTrainStep, lowerInference, render } from './compile.js';
export type { Compiled, TrainShape } from './compile.js';
export { lowerTrain, lowerDecode, textLoss } from './lower/index.js';
export type { TrainGraph, DecodeGraph, DecodeShape } from './lower/index.js';
export { buildTrainStep } from './optim/adamw.js';
export type { AdamWOptions, TrainStep } from './optim/adamw.js';

// ── the IR, autodiff and the op table ──────────────────────────────────────────────────────────────────
export { Graph, IRError } from './ir/graph.js';
export type { Init, LeafInfo } from './ir/graph.js';
export type { Node, DType, Shape, Attrs, AttrValue, LeafKind } from './ir/node.js';
export { numel, shapeStr } from './ir/node.js';
export { printGraph, printNode } from './ir/print.js';
export { verifyGraph } from './ir/verify.js';
export { initLeaf } from './ir/init.js';
export { grad, gradGraphText } from './autodiff/grad.js';
export { getOp, hasOp, allOps, defineOp } from './ops/registry.js';
export type { OpDef, RefTensor } from './ops/registry.js';

// ── codegen: Program, WGSL ─────────────────────────────────────────────────────────────────────────────
export { compileProgram, programKernelsText, programWgslText, bytesOf } from './codegen/program.js';
export type { Program, ProgramBuffer, ProgramKernel, ProgramAssign, BufferKind, CompileOptions } from './codegen/program.js';
export { CPU_SAFE_CAPS, kernelCaps } from './codegen/caps.js';
export type { KernelCaps, KernelLimits } from './codegen/caps.js';

// ── one-call helpers (never throw) ─────────────────────────────────────────────────────────────────────

/** What `mm inspect` shows: the resolved spec, parameter counts, FLOPs per token and a memory estimate. */
export interface Inspection { spec: ResolvedSpec; params: ParamCounts; flops: Flops; memory: MemoryEstimate }

/** The stages `emit` can show (as `mm compile --emit`). */
export type EmitStage = 'ast' | 'spec' | 'ir' | 'grad' | 'kernels' | 'wgsl';
export const EMIT_STAGES: readonly EmitStage[] = ['ast', 'spec', 'ir', 'grad', 'kernels', 'wgsl'];

export interface EmitOptions extends CheckOptions {
  /** Adapter capabilities for codegen (default CPU_SAFE_CAPS: WebGPU's default limits, no optional feature). */
  caps?: KernelCaps;
}

/** Source → checked spec with its sizes. */
export function inspect(source: string, file: string, opts: CheckOptions = {}): Result<Inspection> {
  const checked = checkWithSources(source, file, opts);
  if (!checked.value || hasErrors(checked.diagnostics)) return { value: undefined, diagnostics: checked.diagnostics };
  const spec = checked.value;
  return guarded(file, checked.diagnostics, () => ({
    spec, params: countParams(spec.model), flops: flopsPerToken(spec.model), memory: memoryEstimate(spec),
  }));
}

/**
 * Source → the text of one stage: 'ast' and 'spec' as JSON, 'ir' the forward graph with its loss, 'grad' the
 * whole training step (forward, backward, AdamW), 'kernels' the fused kernel list, 'wgsl' every kernel's WGSL.
 */
export function emit(source: string, file: string, stage: EmitStage, opts: EmitOptions = {}): Result<string> {
  if (stage === 'ast') {
    const r = parseSpec(source, file);
    return { value: r.value ? JSON.stringify(r.value, null, 2) : undefined, diagnostics: r.diagnostics };
  }
  const checked = checkWithSources(source, file, opts);
  if (!checked.value || hasErrors(checked.diagnostics)) return { value: undefined, diagnostics: checked.diagnostics };
  const spec = checked.value;
  return guarded(file, checked.diagnostics, () => {
    if (stage === 'spec') return JSON.stringify(spec, null, 2);
    if (stage === 'ir') return printGraph(lowerTrain(spec.model, trainShape(spec)).graph);
    const graph = lowerTrainStep(spec);
    if (stage === 'grad') return printGraph(graph);
    const program = render(graph, ['loss', 'grad_norm'], opts.caps ?? CPU_SAFE_CAPS, spec.train?.precision ?? 'f32');
    return stage === 'kernels' ? programKernelsText(program) : programWgslText(program);
  });
}

/** `compile` (source → spec, training-step graph and Program) with internal errors as diagnostics. */
export function compileSource(source: string, file: string, opts: EmitOptions = {}): Result<Compiled> {
  try {
    return compile(source, file, opts);
  } catch (e) {
    return { value: undefined, diagnostics: [internalError(file, e)] };
  }
}

/** Reads a spec (through `opts.readFile`, by default the disk when there is one) and compiles it. */
export function compileFile(path: string, opts: EmitOptions = {}): Result<Compiled> {
  const checked = checkFile(path, opts);
  if (!checked.value || hasErrors(checked.diagnostics)) return { value: undefined, diagnostics: checked.diagnostics };
  const source = checked.sources.get(path);
  if (source === undefined) return { value: undefined, diagnostics: checked.diagnostics };
  return compileSource(source, path, opts);
}

/** `inspect` of a file read through `opts.readFile` (by default the disk, when there is one). */
export function inspectFile(path: string, opts: CheckOptions = {}): Result<Inspection> {
  return withFile(path, opts, (source) => inspect(source, path, opts));
}

/** `emit` of a file read through `opts.readFile` (by default the disk, when there is one). */
export function emitFile(path: string, stage: EmitStage, opts: EmitOptions = {}): Result<string> {
  return withFile(path, opts, (source) => emit(source, path, stage, opts));
}

function withFile<T>(path: string, opts: CheckOptions, fn: (source: string) => Result<T>): Result<T> {
  const text = (opts.readFile ?? readFileFromDisk)(resolvePath(currentDir(), path));
  if (text === undefined) return { value: undefined, diagnostics: [{ code: 'MM1101', severity: 'error', message: `cannot read \`${path}\``, hint: 'check the path' }] };
  return fn(text);
}

function internalError(file: string, e: unknown): Diagnostic {
  return {
    code: 'MM9999', severity: 'error', message: `internal compiler error: ${(e as Error)?.message ?? String(e)}`,
    hint: 'this is a bug in mm; please report it with the spec',
    span: { file, start: 0, end: 0, line: 1, col: 1, endLine: 1, endCol: 1 },
  };
}

function guarded<T>(file: string, diagnostics: Diagnostic[], fn: () => T): Result<T> {
  try {
    return { value: fn(), diagnostics };
  } catch (e) {
    return { value: undefined, diagnostics: [...diagnostics, internalError(file, e)] };
  }
}
export { emitMatmul, type MatmulSpec } from './codegen/matmul.js';
