mm 1
import "lib/cycle-a.mm"
