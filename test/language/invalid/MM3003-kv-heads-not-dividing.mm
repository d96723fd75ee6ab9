mm 1
decoder d = transformer { vocab 512; width 64; depth 2; heads 4; kv_heads 3; ffn 128 }
