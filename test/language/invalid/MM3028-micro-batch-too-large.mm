mm 1
encoder e = vit { image 32; patch 8; width 32; depth 1; heads 2; mlp 64 }
connector c = c_abstractor { tokens 4; depth 1; hidden 32 }
decoder d = transformer { vocab 512; width 64; depth 2; heads 4; ffn 128 }
model m { encoder e; connector c; decoder d }
data mix {
  captions "a.jsonl" weight 1
  seq_len 64
}
train { steps 5000; batch 8; micro_batch 16 }
