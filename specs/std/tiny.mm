mm 1
// Templates for the tiny specs that CI trains on a software GPU: a 16-patch ViT, a 4-token C-Abstractor and
// a 2-layer decoder with grouped KV heads. Extend them: `decoder llm = llm_tiny { moe { experts 4 } }`.

// 32 px images, 8 px patches: a 4×4 grid of 16 patch tokens.
encoder vit_tiny = vit {
  image 32
  patch 8
  width 32
  depth 1
  heads 2
  mlp 64
}

// 4×4 patches → 2×2 = 4 visual tokens.
connector cabs_tiny = c_abstractor {
  tokens 4
  depth 1
  hidden 32
}

decoder llm_tiny = transformer {
  vocab 512
  width 64
  depth 2
  heads 4
  kv_heads 2
  ffn 128
  rope 10000
}
