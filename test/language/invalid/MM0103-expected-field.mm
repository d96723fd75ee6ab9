mm 1
encoder e = vit {
  image = 32
}
