mm 1
decoder d = transformer { vocab 512; width 64; depth 2; heads 4; ffn 128 }
model m { decoder d }
data mix {
  captions "a.jsonl" weight 1
  seq_len 64
}
train { steps 5000; batch 8 }
