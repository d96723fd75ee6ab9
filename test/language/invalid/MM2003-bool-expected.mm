mm 1
decoder d = transformer { vocab 512; width 64; depth 2; heads 4; ffn 128; tied 1 }
