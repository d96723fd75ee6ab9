mm 1
// Ablation sweep (tiny): the pre-training data mix. A string param names the data block `train` uses, so the
// sweep compares caption-only, interleaved-only, MM1's 5:5:1 and 5:5:1 without text. MM1 found interleaved
// data drives few-shot, captions drive zero-shot, text helps few-shot, and 5:5:1 balances them. 800 steps:
// models start to use their images only after 400-800 steps (docs/ablations.md). 2-shot, as 4-shot prompts
// overrun the 64-token context these models train on. Average pooling, the connector that learns to use its
// images fastest at this scale (tiny-connector.mm).
import "../std/tiny.mm"

param mix: string = "mix_551"

encoder vit = vit_tiny {}
connector conn = avg_pool {
  tokens 4
}
decoder llm = llm_tiny {}
model tiny {
  encoder vit
  connector conn
  decoder llm
}

data mix_551 {
  captions "../../runs/data/synth/captions.jsonl" weight 45
  interleaved "../../runs/data/synth/interleaved.jsonl" weight 45 max_images 4
  text "../../runs/data/synth/text.txt" weight 10
  seq_len 64
}

data captions_only {
  captions "../../runs/data/synth/captions.jsonl" weight 1
  seq_len 64
}

data interleaved_only {
  interleaved "../../runs/data/synth/interleaved.jsonl" weight 1 max_images 4
  seq_len 64
}

data no_text {
  captions "../../runs/data/synth/captions.jsonl" weight 50
  interleaved "../../runs/data/synth/interleaved.jsonl" weight 50 max_images 4
  seq_len 64
}

train {
  model tiny
  data mix
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

sweep data_mix {
  mix in "mix_551" "captions_only" "interleaved_only" "no_text"
}
