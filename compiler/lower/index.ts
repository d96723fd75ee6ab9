// Lowering: a checked ModelSpec → tensor IR. lowerTrain builds the training forward graph with its losses;
// lowerDecode the KV-cache inference graph. The component lowerings are exported for tests and tools.

export { lowerTrain, lowerDecode, lowerVisual, textLoss } from './multimodal.js';
export type { TrainShape, DecodeShape, TrainGraph, DecodeGraph } from './multimodal.js';
export { lowerVit, vitPosEmbed, bicubicMatrix1d, bicubicMatrix2d } from './vit.js';
export { lowerConnector } from './connector.js';
export { lowerCAbstractor, seWidth } from './cabstractor.js';
export { lowerDecoder, embedTokens, embedTable, isMoeLayer } from './decoder.js';
export type { AttendFn, DecoderResult } from './decoder.js';
export { lowerMoe, moeParams, moeCapacity } from './moe.js';
export type { MoeParams, MoeResult } from './moe.js';
