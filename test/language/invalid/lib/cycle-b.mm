mm 1
import "cycle-a.mm"
