mm 1
import "../../outside.mm"
