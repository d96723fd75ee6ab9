mm 1
encoder e = vit { image 32; patch 8; width 32; depth 1; heads 2; mlp 64
decoder d = transformer { vocab 512; width 64; depth 2; heads 4; ffn 128 }
