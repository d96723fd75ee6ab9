mm 1
// Image encoder templates (CLIP ViTs, patch 14, last-layer patch tokens, no CLS). Extend them and set the
// resolution: `encoder enc = vit_l14 { image 336 }`.

// ViT-L/14: 24 blocks, width 1024, 16 heads, MLP 4096 — ≈ 303M parameters at 336 px.
encoder vit_l14 = vit {
  image 224
  patch 14
  width 1024
  depth 24
  heads 16
  mlp 4096
}

// ViT-H/14: 32 blocks, width 1280, 16 heads, MLP 5120 — ≈ 632M parameters.
encoder vit_h14 = vit {
  image 224
  patch 14
  width 1280
  depth 32
  heads 16
  mlp 5120
}
