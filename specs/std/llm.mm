mm 1
// LLaMA-style decoders for the MM1 family (RMSNorm, RoPE θ 10000, SwiGLU, no biases, vocab 32k). MM1 does
// not publish its shapes; these follow Apple's public configs, with the 3B and 7B FFN widths chosen so that
// the MoE variants land on the published totals (3B-MoE 64B, 7B-MoE 47B). See docs/language.md.

// 1.2B: the ablation decoder (Apple's 1B config).
decoder llm_1b = transformer {
  vocab 32000
  width 2048
  depth 16
  heads 32
  ffn swiglu 8192
  rope 10000
}

// ≈ 3.2B: 28 layers, d 3072, 24 heads; ffn 7424 (not 8192) so that 64 experts every 2nd layer give ≈ 64B.
decoder llm_3b = transformer {
  vocab 32000
  width 3072
  depth 28
  heads 24
  ffn swiglu 7424
  rope 10000
}

// ≈ 7.4B: 32 layers, d 4096, 32 heads; ffn 12800 so that 32 experts every 4th layer give ≈ 47B.
decoder llm_7b = transformer {
  vocab 32000
  width 4096
  depth 32
  heads 32
  ffn swiglu 12800
  rope 10000
}

// ≈ 32.5B: the LLaMA-33B shape (60 layers, d 6656, 52 heads of 128, ffn 17920).
decoder llm_30b = transformer {
  vocab 32000
  width 6656
  depth 60
  heads 52
  ffn swiglu 17920
  rope 10000
}
