mm 1
import "lib/nope.mm"
