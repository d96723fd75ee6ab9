mm 1
// tiny.mm with a mixture-of-experts decoder: 4 experts, top-2, in every 2nd layer.
import "std/tiny.mm"

encoder vit = vit_tiny {}
connector conn = cabs_tiny {}
decoder llm = llm_tiny {
  moe {
    experts 4
    top_k 2
    every 2
    capacity 2.0
  }
}
model tiny {
  encoder vit
  connector conn
  decoder llm
}

data mix {
  captions "../runs/data/synth/captions.jsonl" weight 45
  interleaved "../runs/data/synth/interleaved.jsonl" weight 45 max_images 4
  text "../runs/data/synth/text.txt" weight 10
  seq_len 64
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
