mm 1
connector c { tokens 4 }
