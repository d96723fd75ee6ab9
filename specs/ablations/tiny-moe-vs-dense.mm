mm 1
// Ablation sweep (tiny): a dense decoder against a mixture-of-experts one of the same width. A string param
// names the model that `train` uses, so the sweep switches architectures.
import "../std/tiny.mm"

param arch: string = "dense"

encoder vit = vit_tiny {}
connector conn = cabs_tiny {}
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
  moe {
    experts 4
    top_k 2
    every 2
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

data mix {
  captions "../../runs/data/synth/captions.jsonl" weight 45
  interleaved "../../runs/data/synth/interleaved.jsonl" weight 45 max_images 4
  text "../../runs/data/synth/text.txt" weight 10
  seq_len 64
}

train {
  model arch
  data mix
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

sweep architecture {
  arch in dense moe
}
