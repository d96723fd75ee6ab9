mm 1
// Ablation sweep (tiny): image resolution × visual tokens — MM1's finding that resolution and token count
// matter most. `mm sweep` trains one run per combination (4 runs).
import "../std/tiny.mm"

param res: int = 32
param tokens: int = 4

encoder vit = vit_tiny {
  image res
}
connector conn = cabs_tiny {
  tokens tokens
}
decoder llm = llm_tiny {}
model tiny {
  encoder vit
  connector conn
  decoder llm
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
