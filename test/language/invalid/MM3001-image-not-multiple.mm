mm 1
encoder e = vit { image 30; patch 8; width 32; depth 1; heads 2; mlp 64 }
