mm 1
// A text-only model (no encoder, no connector): the tiny decoder on text data alone.

decoder llm_tiny = transformer {
  vocab 512
  width 64
  depth 2
  heads 4
  kv_heads 2
  ffn 128
  rope 10000
}
model tiny_text {
  decoder llm_tiny
}

data text_only {
  text "../runs/data/synth/text.txt" weight 1
  seq_len 64
}

train {
  model tiny_text
  data text_only
  steps 200
  batch 8
  micro_batch 8
  precision f32
  optimizer adamw {
    lr 3e-3
    betas 0.9 0.95
    weight_decay 0.1
    clip 1.0
  }
  schedule cosine {
    warmup 20
    final 0.1
  }
  checkpoint every 100 keep 2
}
