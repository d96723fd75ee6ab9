mm 1
train { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a { a }}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}}
