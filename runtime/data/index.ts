// The data pipeline's public surface: tokenizer, mixer, image loading, data set writers, errors.
// The Batch contract itself lives in batch.ts (shared with compiler/lower).
export type { Batch } from './batch.js';
export { BATCH_INPUTS } from './batch.js';
export { Tokenizer, trainBpe, SPECIAL_NAMES, type SpecialIds, type TokenizerJSON } from './tokenizer.js';
export { Mixer, encodePrompt, mixerOptionsFor, type MixerOptions, type MixerState } from './mixer.js';
export { trainTokenizerForData, collectTexts } from './corpus.js';
export { loadImage, loadRgb, normalizeClip, resolveDataPath, CLIP_MEAN, CLIP_STD } from './image.js';
export { DataError, BadDataLog } from './errors.js';
export { synth, type SynthOptions, type SynthSummary } from './synth.js';
export { importEmoji, importText } from './realdata.js';
