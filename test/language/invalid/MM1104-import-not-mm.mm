mm 1
import "lib/data.json"
