mm 1
param res: int = 32
param res: int = 64
encoder e = vit { image res; patch 8; width 32; depth 1; heads 2; mlp 64 }
