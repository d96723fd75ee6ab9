mm 1
encoder a = b { width 32 }
encoder b = a { depth 1 }
