mm 1
// Ablation sweep (tiny): the connector type at a fixed resolution and token count — MM1 found the type
// (average pooling, attention pooling, C-Abstractor) matters little next to resolution and token count.
// A string param names the model `train` uses; each model differs only in its connector (3 runs; with
// `mm sweep --train-seeds 3`, 9). Trained on captions only for 800 steps: at this scale models use their
// images only after 400-800 steps of caption data (docs/ablations.md), so shorter runs or the 5:5:1 mix
// would compare models that all ignore their images.
import "../std/tiny.mm"

param arch: string = "m_cabs"

encoder vit = vit_tiny {}
connector cabs = c_abstractor {
  tokens 4
  depth 1
  hidden 32
}
connector avgpool = avg_pool {
  tokens 4
}
connector attnpool = attn_pool {
  tokens 4
  heads 2
}
decoder llm = llm_tiny {}
model m_cabs {
  encoder vit
  connector cabs
  decoder llm
}
model m_avgpool {
  encoder vit
  connector avgpool
  decoder llm
}
model m_attnpool {
  encoder vit
  connector attnpool
  decoder llm
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

sweep connector {
  arch in "m_cabs" "m_avgpool" "m_attnpool"
}
