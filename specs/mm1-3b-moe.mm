mm 1
// MM1-3B-MoE: 64 experts in every 2nd layer of the 3B decoder, top-2 (≈ 64B parameters).
import "std/vit.mm"
import "std/llm.mm"

param res: int = 378
param tokens: int = 144

encoder image_encoder = vit_h14 {
  image res
}
connector cabs = c_abstractor {
  tokens tokens
  depth 3
  hidden 1024
}
decoder llm = llm_3b {
  moe {
    experts 64
    top_k 2
    every 2
    capacity 2.0
    balance 0.01
    z_loss 0.001
  }
}
model mm1_3b_moe {
  encoder image_encoder
  connector cabs
  decoder llm
}

// 45% interleaved, 45% captions, 10% text (MM1's 5:5:1).
data mix {
  captions "../data/mm1/captions.jsonl" weight 45
  interleaved "../data/mm1/interleaved.jsonl" weight 45 max_images 16
  text "../data/mm1/text.txt" weight 10
  seq_len 4096
}

// lr left out: MM1's rule exp(-0.4214 ln N - 0.5535) from the non-embedding parameter count.
train {
  model mm1_3b_moe
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
