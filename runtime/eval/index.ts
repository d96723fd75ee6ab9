// The evaluation toolkit in one import for the evaluator and `mm eval`: CIDEr-D and VQA accuracy as the
// official scripts compute them, few-shot prompt building, and decoding strategies.

export { ciderD, ngramCounts, type CiderResult, type CiderOptions } from './cider.js';
export { cocoTokenize, ptbTokens, PTB_PUNCTUATIONS } from './ptb-tokenize.js';
export { normalizeAnswer, vqaAccuracy, vqaScore, type VqaAnnotation, type VqaPrediction, type VqaQuestion, type VqaScore } from './vqa.js';
export { captionPrompt, vqaPrompt, drawDemonstrations, postprocessAnswer, promptText, type PromptItem, type CaptionExample, type VqaExample, type FewShotOptions } from './fewshot.js';
export { greedy, sample, beamSearch, sampleToken, type StepFn, type DecodeOptions, type SampleOptions, type BeamOptions, type Beam, type Decoded } from './beam.js';
export { Prng, hash32 } from './prng.js';
export { readJsonFile, InputFileError } from './json-file.js';
