// set: tokns=16
mm 1
param tokens: int = 4
encoder e = vit { image 32; patch 8; width 32; depth 1; heads 2; mlp 64 }
connector c = c_abstractor { tokens tokens; depth 1; hidden 32 }
