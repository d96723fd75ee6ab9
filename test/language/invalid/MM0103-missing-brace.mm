mm 1
decoder d = transformer {
  vocab 512
  width 64
