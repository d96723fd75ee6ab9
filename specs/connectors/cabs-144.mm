mm 1
// Connector ablation: C-Abstractor with 144 visual tokens, otherwise the MM1 ablation base (ViT-L/14 at 336 px, 1.2B decoder).
import "../std/vit.mm"
import "../std/llm.mm"

param res: int = 336
param tokens: int = 144

encoder image_encoder = vit_l14 {
  image res
}
connector conn = c_abstractor {
  tokens tokens
  depth 3
  hidden 1024
}
decoder llm = llm_1b {}
model mm1_cabs_144 {
  encoder image_encoder
  connector conn
  decoder llm
}

// 45% interleaved, 45% captions, 10% text (MM1's 5:5:1).
data mix {
  captions "../../data/mm1/captions.jsonl" weight 45
  interleaved "../../data/mm1/interleaved.jsonl" weight 45 max_images 16
  text "../../data/mm1/text.txt" weight 10
  seq_len 4096
}

// lr left out: MM1's rule exp(-0.4214 ln N - 0.5535) from the non-embedding parameter count.
train {
  model mm1_cabs_144
  data mix
  steps 200000
  batch 512
  micro_batch 8
  precision f16
  optimizer adamw {
    betas 0.9 0.95
    weight_decay 0.1
    clip 1.0
  }
  schedule cosine {
    warmup 2000
    final 0.1
  }
  checkpoint every 1000 keep 3
}

eval {
  captioning shots 0 4 8
  vqa shots 0 4 8
  seeds 3
}
