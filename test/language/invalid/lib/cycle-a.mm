mm 1
import "cycle-b.mm"
