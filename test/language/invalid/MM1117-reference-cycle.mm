mm 1
param a: int = b
param b: int = a
encoder e = vit { image a; patch 8; width 32; depth 1; heads 2; mlp 64 }
