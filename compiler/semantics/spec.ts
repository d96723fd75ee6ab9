// The checked spec: what `check` produces from a .mm file and every later stage reads. Plain data (JSON-able),
// numbers already resolved from params, templates, references and `--set` overrides. `origins` records where
// each value came from, for `mm inspect`.

export interface EncoderSpec {
  name: string;
  kind: 'vit';
  image: number;          // input resolution in px (square)
  patch: number;          // patch size in px; image % patch == 0
  width: number;          // hidden size
  depth: number;          // transformer blocks
  heads: number;          // attention heads; width % heads == 0
  mlp: number;            // MLP hidden size (GELU)
  channels: number;       // input channels, 3
  posRes: number;         // resolution the position embeddings were made for (interpolated when ≠ image)
  normEps: number;        // LayerNorm eps, 1e-5
}

export interface ConnectorSpec {
  name: string;
  kind: 'linear' | 'avg_pool' | 'attn_pool' | 'c_abstractor';
  tokens: number;         // visual tokens per image (a square for avg_pool and c_abstractor)
  depth: number;          // c_abstractor: residual blocks per stage (0 → pooling + MLP); attn_pool: unused
  hidden: number;         // c_abstractor / attn_pool hidden width
  heads: number;          // attn_pool heads
}

export interface MoeSpec {
  experts: number;
  topK: number;           // 2 (GShard top-2); 1 allowed
  every: number;          // MoE replaces the FFN in every `every`-th layer (layers every-1, 2·every-1, ...)
  capacity: number;       // capacity factor (2.0); capacity = ceil4(tokens · factor / experts)
  balance: number;        // load-balance loss weight (0.01)
  zLoss: number;          // router z-loss weight (0.001)
}

export interface DecoderSpec {
  name: string;
  kind: 'transformer';
  vocab: number;
  width: number;
  depth: number;
  heads: number;
  kvHeads: number;        // grouped KV heads; heads % kvHeads == 0 (== heads: plain MHA)
  ffn: number;            // SwiGLU hidden size
  rope: number;           // RoPE theta
  tied: boolean;          // output head shares the token embedding
  normEps: number;        // RMSNorm eps, 1e-5
  maxSeq: number;         // longest sequence (positions); defaults to the data block's seq_len
  moe?: MoeSpec;
}

export interface ModelSpec {
  name: string;
  encoder?: EncoderSpec;  // absent: a text-only model
  connector?: ConnectorSpec;
  decoder: DecoderSpec;
}

export interface DataSourceSpec {
  kind: 'captions' | 'interleaved' | 'text';
  path: string;           // absolute, resolved against the spec file's folder
  weight: number;         // relative; normalised by the mixer
  maxImages: number;      // interleaved: images per sequence (≤ 16); captions: pairs packed per sequence
}

export interface DataSpec {
  name: string;
  sources: DataSourceSpec[];
  seqLen: number;
  vocab: number;          // tokenizer vocabulary size (== decoder vocab)
}

export interface TrainSpec {
  model: string;
  data: string;
  steps: number;
  batch: number;          // sequences per optimizer step
  microBatch: number;     // sequences per forward/backward (batch % microBatch == 0 → gradient accumulation)
  precision: 'f32' | 'f16';
  seed: number;
  optimizer: {
    kind: 'adamw';
    lr: number | null;    // null → MM1's rule exp(-0.4214·ln N - 0.5535), N = non-embedding params
    betas: [number, number];
    eps: number;
    weightDecay: number;  // decoupled
    clip: number;         // global gradient-norm clip (0 = off)
  };
  schedule: { kind: 'cosine' | 'linear' | 'constant'; warmup: number; final: number };
  checkpoint: { every: number; keep: number };
  logEvery: number;
}

export interface EvalSpec {
  captioning: { shots: number[]; maxNewTokens: number };
  vqa: { shots: number[]; maxNewTokens: number };
  seeds: number;
  beam: number;           // 1 = greedy
}

export interface SweepSpec {
  name: string;
  axes: { param: string; values: (number | string)[] }[];   // one run per combination
}

/** Where a resolved value came from (for `mm inspect`). */
export interface Origin {
  kind: 'literal' | 'param' | 'override' | 'default' | 'template' | 'reference';
  file?: string;
  line?: number;
  col?: number;
  detail?: string;        // e.g. the param's name or the referenced path
}

export interface ResolvedSpec {
  file: string;                       // absolute path of the root spec
  version: number;
  params: Record<string, number | string | boolean>;
  model: ModelSpec;                   // the model `train` names (or the only one)
  models: Record<string, ModelSpec>;
  data?: DataSpec;
  train?: TrainSpec;
  eval?: EvalSpec;
  sweeps: SweepSpec[];
  origins: Record<string, Origin>;    // keyed by dotted path, e.g. 'model.decoder.width'
}
