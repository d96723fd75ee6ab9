// The whole compiler on one screen. Each stage is a verb and returns its value with diagnostics; user input
// never makes a stage throw.
//
//   .mm source ─check─▶ ResolvedSpec ─lower─▶ IR graph (forward + loss) ─train step─▶ + backward + AdamW
//              ─compileProgram (fuse, plan, render)─▶ Program: WGSL kernels, buffers, schedule
//
// `check` covers parse → AST → resolve (imports, params, templates) → schema and shape checks
// (compiler/language.ts); `lowerTrain`/`lowerDecode` build the model (compiler/lower/); `buildTrainStep`
// differentiates and adds the optimizer (compiler/autodiff, compiler/optim); `compileProgram` fuses, plans
// memory and renders WGSL (compiler/passes, compiler/codegen).

import { checkSource, type CheckOptions } from './language.js';
import type { Diagnostic, Result } from './diagnostics/types.js';
import { hasErrors } from './diagnostics/types.js';
import type { ResolvedSpec, ModelSpec } from './semantics/spec.js';
import { Graph } from './ir/graph.js';
import { lowerTrain, lowerDecode } from './lower/index.js';
import { buildTrainStep } from './optim/adamw.js';
import { compileProgram, type Program } from './codegen/program.js';
import { CPU_SAFE_CAPS, type KernelCaps } from './codegen/caps.js';
import { verify } from './ir/verify.js';

export interface TrainShape { B: number; T: number; maxImages: number }
export interface Compiled { spec: ResolvedSpec; graph: Graph; program: Program }

/** Source → checked spec. */
export function check(source: string, file: string, opts?: CheckOptions): Result<ResolvedSpec> {
  return checkSource(source, file, opts);
}

/** The batch shape a spec trains with: micro-batch × sequence length, images per sequence. */
export function trainShape(spec: ResolvedSpec): TrainShape {
  const maxImages = spec.data ? Math.max(1, ...spec.data.sources.map((s) => (s.kind === 'text' ? 0 : s.maxImages))) : 0;
  return { B: spec.train?.microBatch ?? 1, T: spec.data?.seqLen ?? spec.model.decoder.maxSeq, maxImages: spec.model.encoder ? maxImages : 0 };
}

/** Checked spec → the training-step graph: forward, loss, backward, clipping and AdamW. */
export function lowerTrainStep(spec: ResolvedSpec, shape: TrainShape = trainShape(spec)): Graph {
  const { graph, loss } = lowerTrain(spec.model, shape);
  const t = spec.train;
  buildTrainStep(graph, loss, {
    betas: t?.optimizer.betas ?? [0.9, 0.95], eps: t?.optimizer.eps ?? 1e-8,
    weightDecay: t?.optimizer.weightDecay ?? 0.1, clip: t?.optimizer.clip ?? 1.0,
    accumulate: t ? Math.max(1, Math.round(t.batch / t.microBatch)) : 1,
  });
  return graph;
}

/** Checked spec → the inference graph with a KV cache (Tn new tokens per call; Tn = 1 decodes). */
export function lowerInference(model: ModelSpec, shape: { B: number; Tn: number; Tmax: number; maxImages: number }): Graph {
  return lowerDecode(model, shape).graph;
}

/** Graph → Program (fusion, memory plan, WGSL). Verifies the IR first: a failure here is a compiler bug. */
export function render(graph: Graph, outputs: string[], caps: KernelCaps = CPU_SAFE_CAPS, precision: 'f32' | 'f16' = 'f32'): Program {
  const problems = verify(graph);
  if (problems.length > 0) throw new Error(`IR verification failed:\n${problems.slice(0, 10).join('\n')}`);
  return compileProgram(graph, { outputs, caps, precision });
}

/** The whole pipeline: source → training-step Program. */
export function compile(source: string, file: string, opts: CheckOptions & { caps?: KernelCaps } = {}): Result<Compiled> {
  const checked = check(source, file, opts);
  const diagnostics: Diagnostic[] = checked.diagnostics;
  if (!checked.value || hasErrors(diagnostics)) return { value: undefined, diagnostics };
  const spec = checked.value;
  const graph = lowerTrainStep(spec);
  const program = render(graph, ['loss', 'grad_norm'], opts.caps, spec.train?.precision ?? 'f32');
  return { value: { spec, graph, program }, diagnostics };
}
