# The benchmark's Rego counterpart of the plugin's secret-reference, secret-existence
# and sensitive-name checks on Run:ai workload CRDs (form A), for regorus.
#
# input: the workload document, as JSON (the same text the plugin receives).
# data.catalog: {secret name: {key: true}} of the workload's namespace.
# data.sensitive: {"exact": [...], "contains": [...], "prefix": [...], "suffix": [...]}:
#   the SecretPolicy's sensitiveEnvNames globs, upper-cased and split by shape, so no
#   glob or regex call runs per item (they cost microseconds each in regorus).
#
# violations: a set of {"code", "field"}; the bench checks it equals the plugin's
# findings of these codes on every fixture, for both regorus's RVM and its Engine.
package secrets

import rego.v1

prefix := "SECRET:"

items := object.get(input, ["spec", "environment", "items"], {})

# Items that set a value and are not excluded. `object.get` instead of `not
# item.exclude`: `not` over an undefined value is where the RVM and the tree-walking
# Engine have been seen to disagree.
value_of[name] := item.value if {
	some name, item in items
	object.get(item, "exclude", false) == false
	is_string(item.value)
}

reference[name] := parts if {
	some name, value in value_of
	startswith(value, prefix)
	parts := split(substring(value, 7, -1), ",")
}

well_formed(parts) if {
	count(parts) == 2
	parts[0] != ""
	parts[1] != ""
	trim_space(parts[0]) == parts[0]
	trim_space(parts[1]) == parts[1]
}

field(name) := concat("", ["spec.environment.items.", name, ".value"])

violations contains {"code": "secret-ref-syntax", "field": field(name)} if {
	some name, parts in reference
	not well_formed(parts)
}

violations contains {"code": "secret-not-found", "field": field(name)} if {
	some name, parts in reference
	well_formed(parts)
	object.get(data.catalog, parts[0], null) == null
}

violations contains {"code": "secret-key-not-found", "field": field(name)} if {
	some name, parts in reference
	well_formed(parts)
	keys := object.get(data.catalog, parts[0], null)
	keys != null
	object.get(keys, parts[1], false) == false
}

violations contains {"code": "sensitive-literal", "field": field(name)} if {
	some name, value in value_of
	value != ""
	not startswith(value, prefix)
	sensitive(upper(name))
}

sensitive(name) if {
	some part in data.sensitive.exact
	name == part
}

sensitive(name) if {
	some part in data.sensitive.contains
	contains(name, part)
}

sensitive(name) if {
	some part in data.sensitive.prefix
	startswith(name, part)
}

sensitive(name) if {
	some part in data.sensitive.suffix
	endswith(name, part)
}
