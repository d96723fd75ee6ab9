// The closed, typed schema of every block kind: which fields exist, their types, ranges, defaults and docs.
// The checker narrows the permissive AST with it; docs/language.md is written from the same table.

export type BlockKind = 'encoder' | 'connector' | 'decoder' | 'model' | 'data' | 'train' | 'eval' | 'sweep';
export const blockKinds: BlockKind[] = ['encoder', 'connector', 'decoder', 'model', 'data', 'train', 'eval', 'sweep'];
/** Built-in kinds a named block can be (`encoder x = vit { … }`). */
export const builtins: Partial<Record<BlockKind, string[]>> = {
  encoder: ['vit'], connector: ['linear', 'avg_pool', 'attn_pool', 'c_abstractor'], decoder: ['transformer'],
};
export const connectorKinds = ['linear', 'avg_pool', 'attn_pool', 'c_abstractor'] as const;

export type FType =
  | { t: 'int'; min?: number; max?: number }
  | { t: 'float'; min?: number; max?: number; gt?: number; lt?: number }
  | { t: 'bool' }
  | { t: 'string' }
  | { t: 'enum'; values: string[] }
  | { t: 'ref'; kind: BlockKind }
  | { t: 'image' }
  | { t: 'list'; of: FType; min: number; max: number }
  | { t: 'record'; head?: FType; headName?: string; fields: Schema };

export interface FSchema {
  type: FType;
  doc: string;
  def?: string;                 // the default, as documented ("= image", "2048")
  required?: boolean;
  example: string;              // used in "add `field EXAMPLE`" hints
  kinds?: readonly string[];    // connector kinds the field applies to
  repeat?: boolean;             // may appear several times (data sources)
  prefix?: string[];            // optional words before the value (`ffn swiglu 5632`)
}
export type Schema = Record<string, FSchema>;

const int = (min = 1, max?: number): FType => (max === undefined ? { t: 'int', min } : { t: 'int', min, max });
const pos: FType = { t: 'float', gt: 0 };
const nonneg: FType = { t: 'float', min: 0 };

export const encoderSchema: Schema = {
  image: { type: { t: 'image' }, required: true, example: '336', doc: 'input resolution in px; square (`336` or `336 x 336`)' },
  patch: { type: int(), required: true, example: '14', doc: 'patch size in px; image must be a multiple' },
  width: { type: int(), required: true, example: '1024', doc: 'hidden size' },
  depth: { type: int(), required: true, example: '24', doc: 'transformer blocks' },
  heads: { type: int(), required: true, example: '16', doc: 'attention heads; must divide width' },
  mlp: { type: int(), required: true, example: '4096', doc: 'MLP hidden size (GELU)' },
  channels: { type: int(), def: '3', example: '3', doc: 'input channels' },
  pos_res: { type: int(), def: '= image', example: '336', doc: 'resolution the position embeddings were made for (interpolated when different)' },
  norm_eps: { type: pos, def: '1e-5', example: '1e-5', doc: 'LayerNorm epsilon' },
};

export const connectorSchema: Schema = {
  tokens: { type: int(), example: '144', def: 'required; linear: = patches', kinds: connectorKinds, doc: 'visual tokens per image (a square for avg_pool and c_abstractor)' },
  depth: { type: int(0), def: '3', example: '3', kinds: ['c_abstractor'], doc: 'RegNet blocks per stage (0: pooling + MLP)' },
  hidden: { type: int(), def: '= encoder width', example: '1024', kinds: ['c_abstractor', 'attn_pool'], doc: 'hidden width' },
  heads: { type: int(), def: '8', example: '8', kinds: ['attn_pool'], doc: 'attention heads of the pooling queries; must divide the encoder width' },
};

export const moeSchema: Schema = {
  experts: { type: int(), required: true, example: '64', doc: 'experts per MoE layer' },
  top_k: { type: int(), def: '2', example: '2', doc: 'experts per token (≤ experts)' },
  every: { type: int(), def: '1', example: '2', doc: 'every n-th layer is MoE (layers n-1, 2n-1, …); ≤ depth' },
  capacity: { type: pos, def: '2.0', example: '2.0', doc: 'capacity factor; capacity = ceil4(tokens · factor / experts)' },
  balance: { type: nonneg, def: '0.01', example: '0.01', doc: 'load-balance loss weight' },
  z_loss: { type: nonneg, def: '0.001', example: '0.001', doc: 'router z-loss weight' },
};

export const decoderSchema: Schema = {
  vocab: { type: int(2), required: true, example: '32000', doc: 'vocabulary size' },
  width: { type: int(), required: true, example: '2048', doc: 'model width D' },
  depth: { type: int(), required: true, example: '16', doc: 'transformer layers' },
  heads: { type: int(), required: true, example: '32', doc: 'attention heads; must divide width; width/heads even (RoPE)' },
  kv_heads: { type: int(), def: '= heads', example: '8', doc: 'grouped KV heads; must divide heads' },
  ffn: { type: int(), required: true, example: 'swiglu 5632', prefix: ['swiglu'], doc: 'SwiGLU hidden size (`ffn 5632` or `ffn swiglu 5632`)' },
  rope: { type: pos, def: '10000', example: '10000', doc: 'RoPE theta' },
  tied: { type: { t: 'bool' }, def: 'false', example: 'true', doc: 'output head shares the token embedding' },
  norm_eps: { type: pos, def: '1e-5', example: '1e-5', doc: 'RMSNorm epsilon' },
  max_seq: { type: int(), def: '= data seq_len, else 2048', example: '4096', doc: 'longest sequence' },
  moe: { type: { t: 'record', fields: moeSchema }, example: '{ experts 64; top_k 2; every 2 }', doc: 'mixture of experts in the feed-forward layers' },
};

export const modelSchema: Schema = {
  encoder: { type: { t: 'ref', kind: 'encoder' }, example: 'vit_l14', doc: 'image encoder (omit with connector for a text-only model)' },
  connector: { type: { t: 'ref', kind: 'connector' }, example: 'cabs', doc: 'vision-language connector' },
  decoder: { type: { t: 'ref', kind: 'decoder' }, required: true, example: 'llm_1b', doc: 'the LLM' },
};

const sourceFields = (images: boolean): Schema => ({
  weight: { type: { t: 'float' }, def: '1', example: '45', doc: 'relative weight in the mix (> 0)' },
  ...(images ? { max_images: { type: int(1, 16), def: 'interleaved 16, captions 4', example: '16', doc: 'images per sequence (captions: pairs packed)' } } : {}),
});
export const dataSchema: Schema = {
  captions: { type: { t: 'record', head: { t: 'string' }, headName: 'path', fields: sourceFields(true) }, repeat: true, example: '"data/captions.jsonl" weight 45', doc: 'image-caption pairs (JSONL), path relative to the spec' },
  interleaved: { type: { t: 'record', head: { t: 'string' }, headName: 'path', fields: sourceFields(true) }, repeat: true, example: '"data/docs.jsonl" weight 45', doc: 'interleaved image-text documents (JSONL)' },
  text: { type: { t: 'record', head: { t: 'string' }, headName: 'path', fields: sourceFields(false) }, repeat: true, example: '"data/text.txt" weight 10', doc: 'text-only documents' },
  seq_len: { type: int(), required: true, example: '4096', doc: 'tokens per training sequence' },
  vocab: { type: int(2), def: '= decoder vocab', example: '32000', doc: 'tokenizer vocabulary; must equal the decoder vocab' },
};

export const optimizerSchema: Schema = {
  lr: { type: pos, def: 'MM1 rule', example: '8e-5', doc: 'peak learning rate; default exp(−0.4214·ln N − 0.5535), N = non-embedding params' },
  betas: { type: { t: 'list', of: { t: 'float', min: 0, lt: 1 }, min: 2, max: 2 }, def: '0.9 0.95', example: '0.9 0.95', doc: 'Adam betas' },
  eps: { type: pos, def: '1e-8', example: '1e-8', doc: 'Adam epsilon' },
  weight_decay: { type: nonneg, def: '0.1', example: '0.1', doc: 'decoupled weight decay' },
  clip: { type: nonneg, def: '1.0', example: '1.0', doc: 'global gradient-norm clip (0 = off)' },
};
export const scheduleSchema: Schema = {
  warmup: { type: int(0), def: '2000', example: '2000', doc: 'linear warm-up steps (≤ steps)' },
  final: { type: { t: 'float', min: 0, max: 1 }, def: '0.1', example: '0.1', doc: 'final LR as a fraction of the peak' },
};
export const checkpointSchema: Schema = {
  every: { type: int(), def: '1000', example: '1000', doc: 'steps between checkpoints' },
  keep: { type: int(), def: '3', example: '3', doc: 'checkpoints kept' },
};
export const trainSchema: Schema = {
  model: { type: { t: 'ref', kind: 'model' }, def: 'the only model', example: 'mm1', doc: 'model to train' },
  data: { type: { t: 'ref', kind: 'data' }, def: 'the only data block', example: 'mix', doc: 'data mix' },
  steps: { type: int(), required: true, example: '200000', doc: 'optimizer steps' },
  batch: { type: int(), required: true, example: '512', doc: 'sequences per optimizer step' },
  micro_batch: { type: int(), def: '= batch', example: '8', doc: 'sequences per forward/backward; divides batch' },
  precision: { type: { t: 'enum', values: ['f32', 'f16'] }, def: 'f32', example: 'f32', doc: 'compute precision' },
  seed: { type: int(0), def: '0', example: '0', doc: 'random seed' },
  optimizer: { type: { t: 'record', head: { t: 'enum', values: ['adamw'] }, headName: 'kind', fields: optimizerSchema }, def: 'adamw', example: 'adamw { lr 8e-5 }', doc: 'optimizer' },
  schedule: { type: { t: 'record', head: { t: 'enum', values: ['cosine', 'linear', 'constant'] }, headName: 'kind', fields: scheduleSchema }, def: 'cosine', example: 'cosine { warmup 2000 }', doc: 'LR schedule' },
  checkpoint: { type: { t: 'record', fields: checkpointSchema }, example: 'every 1000 keep 3', doc: 'checkpointing' },
  log_every: { type: int(), def: '1', example: '10', doc: 'steps between log lines' },
};

const taskFields = (maxNew: number): Schema => ({
  shots: { type: { t: 'list', of: { t: 'int', min: 0, max: 32 }, min: 1, max: 16 }, def: '0', example: '0 4 8', doc: 'few-shot settings to evaluate' },
  max_new_tokens: { type: int(), def: String(maxNew), example: String(maxNew), doc: 'generation length' },
});
export const evalSchema: Schema = {
  captioning: { type: { t: 'record', fields: taskFields(20) }, example: 'shots 0 4 8', doc: 'captioning (CIDEr)' },
  vqa: { type: { t: 'record', fields: taskFields(5) }, example: 'shots 0 4 8', doc: 'VQA accuracy' },
  seeds: { type: int(), def: '1', example: '3', doc: 'seeds for drawing demonstrations' },
  beam: { type: int(), def: '1', example: '3', doc: 'beam width (1 = greedy)' },
};

export const schemas: Record<Exclude<BlockKind, 'sweep'>, Schema> = {
  encoder: encoderSchema, connector: connectorSchema, decoder: decoderSchema, model: modelSchema,
  data: dataSchema, train: trainSchema, eval: evalSchema,
};

export function describeType(t: FType): string {
  switch (t.t) {
    case 'int': return 'a whole number';
    case 'float': return 'a number';
    case 'bool': return '`true` or `false`';
    case 'string': return 'a string';
    case 'enum': return t.values.map((v) => `\`${v}\``).join(' or ');
    case 'ref': return `the name of ${/^[aeiou]/.test(t.kind) ? 'an' : 'a'} \`${t.kind}\` block`;
    case 'image': return 'a size in px';
    case 'list': return `${t.min === t.max ? t.min : `${t.min} to ${t.max}`} values`;
    case 'record': return 'settings';
  }
}
