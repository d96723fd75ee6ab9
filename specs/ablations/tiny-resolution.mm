mm 1
// Ablation sweep (tiny): image resolution × visual tokens — MM1's finding that resolution and token count
// matter most. `mm sweep` trains one run per combination (4 runs).

param res: int = 32
param tokens: int = 4

encoder vit_tiny = vit {
  image res
  patch 8
  width 32
  depth 1
  heads 2
  mlp 64
}
connector conn = c_abstractor {
  tokens tokens
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
model tiny {
  encoder vit_tiny
  connector conn
  decoder llm_tiny
}

data mix {
  captions "../../runs/data/synth/captions.jsonl" weight 45 max_images 2
  interleaved "../../runs/data/synth/interleaved.jsonl" weight 45 max_images 2
  text "../../runs/data/synth/text.txt" weight 10
  seq_len 128
}

train {
  steps 200
  batch 8
  optimizer adamw {
    lr 3e-3
  }
  schedule cosine {
    warmup 20
  }
  checkpoint every 100 keep 2
}

eval {
  captioning shots 0 2
  vqa shots 0 2
}

sweep resolution {
  res in 32 48
  tokens in 4 16
}
