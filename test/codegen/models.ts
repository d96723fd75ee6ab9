// The block graph lives in bench/graphs.ts (the benchmarks time the same graph the tests check).
export { block } from '../../bench/graphs.js';
