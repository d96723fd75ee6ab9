mm 1
encoder e = vit { image 336x336; patch 14; width 32; depth 1; heads 2; mlp 64 }
