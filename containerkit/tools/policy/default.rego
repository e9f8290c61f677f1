# containerkit's default policy: evaluated in-process over the input documented in
# docs/policy-input.md. Each deny is {"id", "msg"}; ids are stable (CKP0xx) for waivers and reports.
package containerkit.default

import rego.v1

root_uids := {"", "root", "0"}

runs_as_root(user) if split(user, ":")[0] in root_uids

# CKP001: the container runs as root -------------------------------------------------------
deny contains v if {
	runs_as_root(input.image.user)
	v := {"id": "CKP001", "msg": sprintf("image %v runs as root (Config.User=%v); add a USER with a non-root uid", [object.get(input.image, "ref", "?"), input.image.user])}
}

# Without a built image, judge the Dockerfile: no USER in the final stage, or USER root.
deny contains v if {
	not input.image
	input.dockerfile
	not input.dockerfile.final_user
	v := {"id": "CKP001", "msg": "the final stage sets no USER, so the container runs as root; add USER with a non-root uid"}
}

deny contains v if {
	not input.image
	runs_as_root(input.dockerfile.final_user)
	v := {"id": "CKP001", "msg": sprintf("the final stage switches to USER %v; use a non-root uid", [input.dockerfile.final_user])}
}

# CKP002: latest or no tag ------------------------------------------------------------------
floating(name) if {
	not name.digest
	not name.tag
}

floating(name) if {
	not name.digest
	name.tag == "latest"
}

deny contains v if {
	some base in input.dockerfile.base_images
	floating(base)
	v := {"id": "CKP002", "msg": sprintf("base image %v has no pinned tag (latest); pin a version or a digest", [base.ref])}
}

deny contains v if {
	floating(input.image.name)
	v := {"id": "CKP002", "msg": sprintf("image %v is tagged latest (or untagged); tag it with a version", [input.image.name.ref])}
}

# CKP003: a critical vulnerability that has a fix --------------------------------------------
deny contains v if {
	some vuln in input.vulnerabilities
	upper(vuln.severity) == "CRITICAL"
	vuln.fixed_version != ""
	v := {"id": "CKP003", "msg": sprintf("critical %v in %v %v is fixed in %v; upgrade it", [vuln.id, vuln.package, vuln.installed_version, vuln.fixed_version])}
}

# CKP004: base image from a registry outside data.allowed_registries (skipped when none given)
deny contains v if {
	count(data.allowed_registries) > 0
	some base in input.dockerfile.base_images
	not base.registry in data.allowed_registries
	# concat, not sprintf: regopy 1.5 quotes computed strings inside sprintf's %v
	allowed := concat(", ", data.allowed_registries)
	v := {"id": "CKP004", "msg": concat("", ["base image ", base.ref, " comes from ", base.registry, ", not an allowed registry (", allowed, ")"])}
}
