# Internal helper loaded with every evaluation. regopy 1.5 emits strings holding a double quote
# as invalid JSON, so messages are normalised here (" -> ', \ -> /) before they leave Rego.
package containerkit_internal

import rego.v1

safe(s) := replace(replace(s, "\\", "/"), "\"", "'")

norm(v) := {"id": "", "msg": safe(v)} if is_string(v)

norm(v) := {"id": safe(sprintf("%v", [object.get(v, "id", "")])), "msg": safe(v.msg)} if {
	is_object(v)
	is_string(v.msg)
}

norm(v) := {"invalid": safe(sprintf("%v", [v]))} if {
	not is_string(v)
	not is_string(object.get(v, "msg", null))
}
