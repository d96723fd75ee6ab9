mm 1
data mix {
  captions "a.jsonl" weight 1
  seq_len 64
}
train { steps 5000; batch 8 }
