mm 1
// tiny.mm with a linear connector: every patch becomes a token (16), so sequences are 128 long.

encoder vit_tiny = vit {
  image 32
  patch 8
  width 32
  depth 1
  heads 2
  mlp 64
}
connector conn = linear {
  tokens 16
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
model tiny {
  encoder vit_tiny
  connector conn
  decoder llm_tiny
}

data mix {
  captions "../runs/data/synth/captions.jsonl" weight 45
  interleaved "../runs/data/synth/interleaved.jsonl" weight 45 max_images 4
  text "../runs/data/synth/text.txt" weight 10
  seq_len 128
}

train {
  model tiny
  data mix
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

eval {
  captioning shots 0 4
  vqa shots 0 4
}
