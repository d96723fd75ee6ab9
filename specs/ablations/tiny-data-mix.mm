mm 1
// Ablation sweep (tiny): the pre-training data mix. Weights are params, so the sweep varies them: MM1 found
// interleaved data drives few-shot, captions drive zero-shot, and 5:5:1 balances both.

param captions: float = 45
param interleaved: float = 45
param text: float = 10

encoder vit_tiny = vit {
  image 32
  patch 8
  width 32
  depth 1
  heads 2
  mlp 64
}
connector conn = c_abstractor {
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
model tiny {
  encoder vit_tiny
  connector conn
  decoder llm_tiny
}

data mix {
  captions "../../runs/data/synth/captions.jsonl" weight captions
  interleaved "../../runs/data/synth/interleaved.jsonl" weight interleaved max_images 4
  text "../../runs/data/synth/text.txt" weight text
  seq_len 64
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
  captioning shots 0 4
  vqa shots 0 4
}

sweep mix_weights {
  captions in 45 90 10
  interleaved in 45 10
  text in 10 1
}
