mm 1
// Ablation sweep (tiny): the pre-training data mix. A string param names the data block `train` uses, so the
// sweep compares caption-only, interleaved-only, MM1's 5:5:1 and 5:5:1 without text. MM1 found interleaved
// data drives few-shot, captions drive zero-shot, text helps few-shot, and 5:5:1 balances them.

param mix: string = "mix_551"

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

sweep data_mix {
  mix in "mix_551" "captions_only" "interleaved_only" "no_text"
}
