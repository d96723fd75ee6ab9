mm 1
// Ablation sweep (tiny): image resolution × visual tokens — MM1's finding that resolution and token count
// matter most (4 runs; with `mm sweep --train-seeds 3`, 12). Average pooling, the connector that learns to use
// its images fastest at this scale (tiny-connector.mm); captions only for 800 steps, as there. 64 px is the
// synthetic images' own size (8×8 patches); two images a row, so 16-token images fit the 64-token rows.
import "../std/tiny.mm"

param res: int = 32
param tokens: int = 4

encoder vit = vit_tiny {
  image res
}
connector conn = avg_pool {
  tokens tokens
}
decoder llm = llm_tiny {}
model tiny {
  encoder vit
  connector conn
  decoder llm
}

data captions {
  captions "../../runs/data/synth/captions.jsonl" weight 1 max_images 2
  seq_len 64
}

train {
  model tiny
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

sweep resolution {
  res in 32 64
  tokens in 4 16
}
