// The block graph lives in bench/graphs.ts (the benchmarks time the same graph the tests check); its kernel
// budgets live here, shared by the block test and the benchmark rows' test.
export { block } from '../../bench/graphs.js';

// rmsnorm, q, k, v (3 matmuls), attention (rope and head permutes fused into its loads, output written
// head-merged), wo matmul + residual, rmsnorm, up matmul, gate matmul + silu·up, down matmul + residual.
export const BLOCK_FWD_KERNELS = 10;
// Forward recomputed in the step + loss + backward (attention stats + dq + dk/dv, weight grads; the norms'
// row statistics come from their forward kernels): on the software adapter the tests run on, dk and dv share
// a kernel (44 where they do not).
export const BLOCK_STEP_KERNELS = 43;
