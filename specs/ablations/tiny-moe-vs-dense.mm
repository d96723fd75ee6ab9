mm 1
// Ablation sweep (tiny): a dense decoder against a mixture-of-experts one at equal active parameters. The
// dense feed-forward is 128 wide; the MoE layers have 4 experts of width 64 and route each token to 2 of
// them, so a token passes through 2 × 64 = 128 hidden units either way (plus a 64×4 router per layer), while
// the MoE model holds twice the feed-forward weights. A string param names the model `train` uses.
// Average-pooling connector and captions only for 800 steps, as in tiny-connector.mm.
import "../std/tiny.mm"

param arch: string = "dense"

encoder vit = vit_tiny {}
connector conn = avg_pool {
  tokens 4
}
decoder llm_dense = transformer {
  vocab 512
  width 64
  depth 2
  heads 4
  kv_heads 2
  ffn 128
  rope 10000
}
decoder llm_moe = llm_dense {
  ffn 64
  moe {
    experts 4
    top_k 2
    every 1
  }
}
model dense {
  encoder vit
  connector conn
  decoder llm_dense
}
model moe {
  encoder vit
  connector conn
  decoder llm_moe
}

data captions {
  captions "../../runs/data/synth/captions.jsonl" weight 1
  seq_len 64
}

train {
  model arch
  data captions
  steps 800
  batch 8
  optimizer adamw {
    lr 3e-3
  }
  schedule cosine {
    warmup 20
  }
  checkpoint every 400 keep 1
}

eval {
  captioning shots 0 2
  vqa shots 0 2
  seeds 2
}

sweep architecture {
  arch in dense moe
}
