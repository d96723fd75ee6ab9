// The diagnostics catalog: every code the language front end can report, with its message template and
// hint. Codes are stable (tests and users grep for them): MM01xx syntax, MM11xx names, imports and params,
// MM2xxx block schemas, MM3xxx shapes and cross-block constraints.

import type { Diagnostic, Span } from './types.js';

type Args = Record<string, string | number>;
interface Entry { code: string; message: (a: Args) => string; hint?: (a: Args) => string | undefined }

const an = (w: string | number): string => `${/^[aeiou]/i.test(String(w)) ? 'an' : 'a'} ${w}`;
const e = (code: string, message: (a: Args) => string, hint?: (a: Args) => string | undefined): Entry =>
  ({ code, message, hint });

export const catalog = {
  // ── syntax ───────────────────────────────────────────────────────────────────────────────────────────
  badChar: e('MM0101', (a) => `unexpected character \`${a.char}\``, (a) => a.char === ','
    ? 'values are separated by spaces: `shots 0 4 8`' : 'remove it; comments start with `//`'),
  unterminatedString: e('MM0102', () => 'unterminated string', () => 'close the string with `"` on the same line'),
  expected: e('MM0103', (a) => `${a.expected}${a.ctx ? ` in \`${a.ctx}\`` : ''}, found ${a.found}`, (a) => a.hint !== undefined ? String(a.hint)
    : a.found === 'the end of the file' && String(a.expected).includes('`}`') ? `close \`${a.ctx || 'the block'}\` with \`}\``
    : String(a.expected).startsWith('expected a value') ? 'give it a value: a number, a "string", a name, or `(expression)`'
    : 'fields are written `name value …`, one per line or separated by `;`'),
  missingHeader: e('MM0104', () => 'missing the version header', () => 'start the file with `mm 1`'),
  badVersion: e('MM0105', (a) => `unsupported language version ${a.version}`, () => 'this compiler understands `mm 1`'),
  unterminatedComment: e('MM0106', () => 'unterminated block comment', () => 'close it with `*/`'),
  badNumber: e('MM0107', (a) => `malformed number \`${a.text}\``, (a) => /x/.test(String(a.text))
    ? 'write a square size with spaces: `image 336 x 336`' : 'numbers look like `12`, `0.5` or `3e-4`'),
  tooDeep: e('MM0108', (a) => `nesting deeper than ${a.max} levels`, () => 'blocks nest at most a few levels: flatten it'),
  duplicateHeader: e('MM0109', () => 'the version header appears more than once', () => 'keep one `mm 1` at the top'),
  lateHeader: e('MM0110', () => 'the version header must come first', () => 'move `mm 1` to the top of the file'),
  // ── names, imports, params ───────────────────────────────────────────────────────────────────────────
  importNotFound: e('MM1101', (a) => `cannot find imported file \`${a.path}\``, () => 'import paths are relative to the importing file'),
  importOutside: e('MM1102', (a) => `import \`${a.path}\` leaves the project`, (a) => `imports must stay inside the project folder (\`${a.root}\` from this file)`),
  importCycle: e('MM1103', (a) => `import cycle: ${a.cycle}`, () => 'move the shared blocks into a file both can import'),
  importNotMm: e('MM1104', (a) => `cannot import \`${a.path}\`: only \`.mm\` files can be imported`, () => 'name a relative path ending in `.mm`'),
  duplicateBlock: e('MM1105', (a) => `\`${a.name}\` is defined twice`, () => 'give each block its own name'),
  duplicateParam: e('MM1106', (a) => `param \`${a.name}\` is declared twice`, () => 'remove one of the declarations'),
  unknownOverride: e('MM1107', (a) => `\`--set ${a.name}\`: no param \`${a.name}\` in this spec`, (a) => a.suggest ? String(a.suggest) : `declared params: ${a.known || 'none'}`),
  badOverride: e('MM1108', (a) => `\`--set ${a.name}=${a.value}\`: expected ${a.type}`, () => 'write `--set name=value` with a value of the param\'s type'),
  paramTypeMismatch: e('MM1109', (a) => `param \`${a.name}\` is declared \`${a.type}\` but its value is ${a.got}`, () => 'change the value or the declared type'),
  unknownParamType: e('MM1110', (a) => `unknown param type \`${a.type}\``, (a) => a.suggest ? String(a.suggest) : 'types are `int`, `float`, `string` and `bool`'),
  unknownName: e('MM1111', (a) => `unknown name \`${a.name}\``, (a) => a.suggest ? String(a.suggest) : 'declare it with `param` or define a block of that name'),
  unknownBase: e('MM1112', (a) => `unknown ${a.kind} \`${a.name}\` after \`=\``, (a) => a.suggest ? String(a.suggest) : `use a built-in kind (${a.builtins}) or a ${a.kind} defined or imported here`),
  baseKindMismatch: e('MM1113', (a) => `\`${a.name}\` is ${an(a.actual!)}, not ${an(a.kind!)}`, () => 'a block can only extend a block of the same kind'),
  templateCycle: e('MM1114', (a) => `template cycle: ${a.cycle}`, () => 'a block cannot extend itself'),
  unknownMember: e('MM1115', (a) => `\`${a.block}\` has no field \`${a.field}\``, (a) => a.suggest ? String(a.suggest) : 'refer to a field the block sets, e.g. `vit_l14.width`'),
  paramNoValue: e('MM1116', (a) => `param \`${a.name}\` has no value`, (a) => `give it a default (\`= …\`) or pass \`--set ${a.name}=…\``),
  referenceCycle: e('MM1117', (a) => `\`${a.path}\` refers to itself`, () => 'break the cycle with a literal value or a param'),
  unknownBlockKind: e('MM1118', (a) => `unknown block \`${a.kind}\``, (a) => a.suggest ? String(a.suggest) : 'blocks are `encoder`, `connector`, `decoder`, `model`, `data`, `train`, `eval` and `sweep`'),
  noValueHere: e('MM1119', (a) => `\`${a.path}\` has no value of its own`, () => 'its default depends on the model that uses it; write the value out'),
  // ── block schemas ────────────────────────────────────────────────────────────────────────────────────
  unknownField: e('MM2001', (a) => `unknown field \`${a.field}\` in \`${a.ctx}\``, (a) => a.suggest ? String(a.suggest) : `valid fields: ${a.valid}`),
  missingField: e('MM2002', (a) => `\`${a.ctx}\` is missing the required field \`${a.field}\``, (a) => `add \`${a.field} ${a.example}\``),
  wrongType: e('MM2003', (a) => `\`${a.field}\` expects ${a.expected}, found ${a.found}`, (a) => a.hint !== undefined ? String(a.hint) : `write ${a.expected} here`),
  outOfRange: e('MM2004', (a) => `\`${a.field}\` must be ${a.range}, found ${a.value}`, (a) => a.hint !== undefined ? String(a.hint) : `see docs/language.md for the range of \`${a.field}\``),
  duplicateField: e('MM2005', (a) => `\`${a.field}\` is set twice in \`${a.ctx}\``, () => 'keep one; the first is shown as related'),
  unknownEnum: e('MM2006', (a) => `\`${a.field}\` cannot be \`${a.value}\``, (a) => a.suggest ? `${a.suggest} (choices: ${a.choices})` : `choices: ${a.choices}`),
  valueCount: e('MM2007', (a) => `\`${a.field}\` takes ${a.want}, found ${a.got}`, (a) => a.example ? `write \`${a.example}\`` : 'values are separated by spaces'),
  notInteger: e('MM2008', (a) => `\`${a.field}\` must be a whole number, found ${a.value}`, () => 'drop the fraction'),
  blockNeedsName: e('MM2010', (a) => `this \`${a.kind}\` block needs a name`, (a) => `write \`${a.kind} NAME${a.builtin ? ` = ${a.builtin}` : ''} { … }\``),
  duplicateSingleton: e('MM2011', (a) => `more than one \`${a.kind}\` block`, () => 'a spec has at most one; merge them'),
  unexpectedBody: e('MM2012', (a) => `\`${a.field}\` does not take a \`{ … }\` body`, (a) => `write \`${a.field} VALUE\``),
  nonSquareImage: e('MM2013', (a) => `images are square, found ${a.w} x ${a.h}`, (a) => `write \`image ${a.w}\``),
  fieldNotForKind: e('MM2014', (a) => `\`${a.field}\` does not apply to ${an('`' + a.kind + '`').replace('a `a', 'an `a')} connector`, (a) => `it applies to: ${a.kinds}`),
  wrongRefKind: e('MM2015', (a) => `\`${a.name}\` is ${an(a.actual!)}, but \`${a.field}\` needs ${an(a.want!)}`, (a) => a.suggest ? String(a.suggest) : `name ${an(String(a.want))} block`),
  needBase: e('MM2016', (a) => `\`${a.kind} ${a.name}\` does not say what it is`, (a) => `write \`${a.kind} ${a.name} = ${a.builtins} { … }\``),
  noModel: e('MM2017', (a) => a.many ? 'several models and no `train` block to choose one' : 'no `model` block', (a) => a.many ? 'add `train { model NAME … }`' : 'add `model NAME { encoder …; connector …; decoder … }`'),
  sweepUnknownParam: e('MM2018', (a) => `sweep axis \`${a.name}\` is not a param`, (a) => a.suggest ? String(a.suggest) : 'sweeps vary params: declare `param NAME: TYPE = VALUE`'),
  sweepValueType: e('MM2019', (a) => `sweep value ${a.value} does not fit param \`${a.name}: ${a.type}\``, () => 'every value must have the param\'s type'),
  sweepSyntax: e('MM2020', (a) => `sweep axis \`${a.name}\` needs \`in\` and at least one value`, (a) => `write \`${a.name} in 1 2 3\``),
  noSources: e('MM2022', (a) => `data \`${a.name}\` has no sources`, () => 'add `captions "FILE" weight 45` (or `interleaved` / `text`)'),
  unusedBase: e('MM2023', (a) => `\`${a.kind}\` blocks do not extend templates`, () => 'remove `= …`'),
  singletonNamed: e('MM2024', (a) => `\`${a.kind}\` blocks take no name`, (a) => `write \`${a.kind} { … }\``),
  emptyString: e('MM2025', (a) => `\`${a.field}\` is an empty path`, () => 'name a file'),
  sweepDuplicateAxis: e('MM2026', (a) => `sweep axis \`${a.name}\` appears twice`, () => 'list all values on one axis'),
  // ── shapes and cross-block constraints ───────────────────────────────────────────────────────────────
  imageNotMultiple: e('MM3001', (a) => `image ${a.image} is not a multiple of patch ${a.patch}`, (a) => `try image ${a.lower} or ${a.upper}`),
  headsNotDividing: e('MM3002', (a) => `${a.heads} heads do not divide ${a.what} width ${a.width}`, (a) => `head counts that divide ${a.width}: ${a.options}`),
  kvHeadsNotDividing: e('MM3003', (a) => `kv_heads ${a.kv} does not divide heads ${a.heads}`, (a) => `choose kv_heads from ${a.options}`),
  topKTooLarge: e('MM3004', (a) => `top_k ${a.k} exceeds the ${a.experts} experts`, () => 'top_k ≤ experts (MM1 uses top-2)'),
  everyTooLarge: e('MM3005', (a) => `moe every ${a.every} exceeds the decoder depth ${a.depth}: no layer would be MoE`, (a) => `choose every between 1 and ${a.depth}`),
  tokensNotSquare: e('MM3006', (a) => `a \`${a.kind}\` connector pools to a square grid, but ${a.tokens} is not a square`, (a) => `try ${a.lower} or ${a.upper} tokens`),
  poolNotDividing: e('MM3007', (a) => `avg_pool cannot pool the ${a.grid}×${a.grid} patch grid to ${a.side}×${a.side}`, (a) => `the grid side must be a multiple of the token grid side: try ${a.options} tokens, or use c_abstractor (adaptive pooling)`),
  tooManyTokens: e('MM3008', (a) => `${a.tokens} visual tokens is more than the encoder's ${a.patches} patches`, () => 'a pooling connector cannot add tokens'),
  linearTokens: e('MM3009', (a) => `a linear connector keeps every patch: tokens must be ${a.patches}, found ${a.tokens}`, (a) => `write \`tokens ${a.patches}\` or leave it out`),
  seqTooShort: e('MM3010', (a) => `seq_len ${a.seq} cannot hold ${a.images} images × ${a.tokens} tokens (${a.need}) plus text`, (a) => `raise seq_len above ${a.need} or lower max_images`),
  badWeight: e('MM3011', (a) => `data weight must be positive, found ${a.value}`, () => 'weights are relative, e.g. 45 45 10'),
  batchNotMultiple: e('MM3012', (a) => `batch ${a.batch} is not a multiple of micro_batch ${a.micro}`, () => 'micro_batch must divide batch (gradient accumulation)'),
  warmupTooLong: e('MM3013', (a) => `warmup ${a.warmup} is longer than the ${a.steps} training steps`, () => 'warmup ≤ steps'),
  vocabMismatch: e('MM3014', (a) => `data vocab ${a.data} differs from decoder vocab ${a.decoder}`, () => 'leave data vocab out: it defaults to the decoder\'s'),
  maxSeqTooShort: e('MM3015', (a) => `decoder max_seq ${a.max} is shorter than data seq_len ${a.seq}`, () => 'raise max_seq or leave it out (it defaults to seq_len)'),
  halfVision: e('MM3016', (a) => `model \`${a.name}\` has ${a.has} but no ${a.missing}`, () => 'a multimodal model needs both an encoder and a connector; a text-only model has neither'),
  textOnlyImages: e('MM3017', (a) => `model \`${a.model}\` is text-only but data \`${a.data}\` has ${a.kind} (images)`, () => 'add an encoder and a connector, or use text sources only'),
  oddHeadDim: e('MM3018', (a) => `decoder head size ${a.hd} is odd; RoPE rotates pairs of dimensions`, () => 'choose width and heads so that width / heads is even'),
  shotsTooLong: e('MM3019', (a) => `${a.task} with ${a.shots} shots needs ${a.need} image tokens, more than seq_len ${a.seq}`, () => 'use fewer shots or a longer seq_len'),
  posResNotMultiple: e('MM3026', (a) => `pos_res ${a.pos} is not a multiple of patch ${a.patch}`, () => 'position embeddings are made on the patch grid'),
  attnHeads: e('MM3023', (a) => `attn_pool heads ${a.heads} do not divide the encoder width ${a.width}`, () => 'choose heads dividing the encoder width'),
  unusedParam: e('MM3027', (a) => `param \`${a.name}\` is never used`, () => 'remove it, or use it in a field'),
  microBatchTooLarge: e('MM3028', (a) => `micro_batch ${a.micro} exceeds batch ${a.batch}`, () => 'micro_batch ≤ batch'),
} satisfies Record<string, Entry>;

export type DiagKind = keyof typeof catalog;

export function diag(kind: DiagKind, span: Span | undefined, args: Args = {}, severity: Diagnostic['severity'] = 'error'): Diagnostic {
  const c: Entry = catalog[kind];
  const d: Diagnostic = { code: c.code, severity, message: c.message(args) };
  if (span) d.span = span;
  const hint = c.hint?.(args);
  if (hint) d.hint = hint;
  return d;
}
