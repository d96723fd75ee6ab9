mm 1
connector c = c_abstractor { tokens 4; depth 1 }
decoder d = transformer { vocab 512; width (c.hidden * 2); depth 2; heads 4; ffn 128 }
