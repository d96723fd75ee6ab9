// `mm/runtime`: run what `mm/compiler` builds. Open a WebGPU device (Dawn), run a graph on an Engine (GPU or
// the CPU reference), train a spec, generate with a KV cache, evaluate, and read/write checkpoints. Importing
// this module loads Dawn (npm `webgpu`, a native addon); `mm/compiler` never does.

// ── devices and engines ────────────────────────────────────────────────────────────────────────────────
export { openDevice, GpuDevice, NoAdapterError, WgslError, DeviceLostError } from './device.js';
export type { DeviceCaps, OpenOptions, SubgroupMatrixConfig, WgslMessage } from './device.js';
export { kernelCaps } from '../compiler/codegen/caps.js';
export type { Engine, HostArray } from './engine.js';
export { GpuEngine } from './gpu-engine.js';
export { ReferenceEngine } from './reference-engine.js';
export type { ReferenceEngineOptions } from './reference-engine.js';
export { Executor } from './executor.js';
export { evaluate, evaluateStep, tensor } from './reference.js';
export type { Feed, EvalOptions as ReferenceEvalOptions } from './reference.js';

// ── training ───────────────────────────────────────────────────────────────────────────────────────────
export { trainRun, feedBatch, runTokenizer, TrainError } from './train.js';
export type { TrainOptions, TrainResult } from './train.js';
export { lrAt, mm1PeakLr, mm1WeightDecay } from './optim/schedule.js';
export type { Schedule, ScheduleKind } from './optim/schedule.js';
export { MetricsWriter, readMetrics } from './metrics-log.js';
export type { MetricsRecord } from './metrics-log.js';
export { plotRun } from './plot.js';

// ── generation ─────────────────────────────────────────────────────────────────────────────────────────
export { Generator, GenerateError, loadWeights, cpuEngineFactory, gpuEngineFactory } from './generate.js';
export type { EngineFactory, GeneratorOptions, GenerateOptions, Generation, Strategy } from './generate.js';

// ── data ───────────────────────────────────────────────────────────────────────────────────────────────
export type { Batch } from './data/batch.js';
export { BATCH_INPUTS } from './data/batch.js';
export {
  Tokenizer, trainBpe, SPECIAL_NAMES, Mixer, mixerOptionsFor, encodePrompt, loadImage, loadRgb, normalizeClip, CLIP_MEAN, CLIP_STD,
  DataError, BadDataLog, synth, importEmoji, importText, trainTokenizerForData, collectTexts,
} from './data/index.js';
export { guessKind, type SourceKind } from './data/corpus.js';
export { LineReader, SourceStream, parseRecord } from './data/sources.js';
export type { DataRecord, Item, SourceState } from './data/sources.js';
export type { SpecialIds, TokenizerJSON, MixerOptions, MixerState, SynthOptions, SynthSummary } from './data/index.js';

// ── evaluation ─────────────────────────────────────────────────────────────────────────────────────────
export { runEval, loadEvalDir, formatTable, meanStd, generatorCompleter, tokenizerGuards } from './eval/run.js';
export type { GeneratorCompleterOptions } from './eval/run.js';
export type { Completer, EvalData, EvalReport, EvalOptions, Task, Cell, Prediction } from './eval/run.js';
export { ciderD, vqaAccuracy, vqaScore, greedy, sample, beamSearch } from './eval/index.js';
export { readJsonFile, InputFileError } from './eval/index.js';
export { measureGrounding, rotateImages, spreadImages } from './eval/grounding.js';
export type { Grounding, GroundingOptions } from './eval/grounding.js';
export type { CiderResult, VqaScore, VqaAnnotation, VqaPrediction, VqaQuestion } from './eval/index.js';

// ── sweeps (one run per combination of a sweep block's axes) ───────────────────────────────────────────
export { expandSweep, pickSweep, runSweep, aggregate, resultsMarkdown, sweepCharts, writeReport } from './sweep.js';
export type { Variant, VariantResult, RunResult, SweepHooks, SweepOptions, TrainSummary } from './sweep.js';

// ── checkpoints (safetensors + JSON state, written atomically) ─────────────────────────────────────────
export {
  saveCheckpoint, loadCheckpoint, latestCheckpoint, listCheckpoints, readSafetensors, writeSafetensorsSync,
  encodeSafetensors, decodeSafetensors, tensorToFloat32, toTensor, f16Tensor, CheckpointError,
} from './checkpoint.js';
export type { Tensor, TensorLike, Dtype, CheckpointData, LoadedCheckpoint, SaveOptions, Safetensors } from './checkpoint.js';
