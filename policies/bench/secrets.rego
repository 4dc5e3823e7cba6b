# The benchmark's Rego counterpart of the plugin's secret-reference, secret-existence
# and sensitive-name checks on Run:ai workload CRDs (form A), for regorus.
#
# input: the workload document, as JSON (the same text the plugin receives).
# data.catalog: {secret name: {key: true}} of the workload's namespace.
# data.sensitive: the SecretPolicy's sensitiveEnvNames globs, upper-cased and split by
#   shape, so no glob or regex call runs per item (they cost microseconds each in
#   regorus): "exact", "prefix" and "suffix" are lists, "contains" is {part: ""}, the
#   shape `strings.replace_n` takes.
#
# violations: a set of {"code", "field"}; the bench checks it equals the plugin's
# findings of these codes on every fixture, for both regorus's RVM and its Engine.
#
# Written for regorus's speed, measured side by side (a ~2 KB workload, 41 items): every
# iteration and every user function call costs the RVM a fraction of a microsecond, so
# each item is visited once per derived table, no helper functions are called per item,
# a shape with no globs skips its pass, and one builtin call tests all the globs of a
# shape. This is ~27% faster than the same checks written with helper functions and a
# pass per glob shape.
package secrets

import rego.v1

prefix := "SECRET:"

items := object.get(input, ["spec", "environment", "items"], {})

# Secret references of items that are not excluded, split at the comma. `object.get`
# instead of `not item.exclude`: `not` over an undefined value is where the RVM and the
# tree-walking Engine have been seen to disagree.
reference[name] := parts if {
	some name, item in items
	value := item.value
	is_string(value)
	startswith(value, prefix)
	object.get(item, "exclude", false) == false
	parts := split(substring(value, 7, -1), ",")
}

well_formed[name] := parts if {
	some name, parts in reference
	count(parts) == 2
	parts[0] != ""
	parts[1] != ""
	trim_space(parts[0]) == parts[0]
	trim_space(parts[1]) == parts[1]
}

violations contains {"code": "secret-ref-syntax", "field": concat("", ["spec.environment.items.", name, ".value"])} if {
	some name, _ in reference
	object.get(well_formed, name, null) == null
}

violations contains {"code": "secret-not-found", "field": concat("", ["spec.environment.items.", name, ".value"])} if {
	some name, parts in well_formed
	object.get(data.catalog, parts[0], null) == null
}

violations contains {"code": "secret-key-not-found", "field": concat("", ["spec.environment.items.", name, ".value"])} if {
	some name, parts in well_formed
	keys := object.get(data.catalog, parts[0], null)
	keys != null
	object.get(keys, parts[1], false) == false
}

# Upper-cased names of items that set a non-empty literal and are not excluded.
literal_name[name] := upper(name) if {
	some name, item in items
	value := item.value
	is_string(value)
	value != ""
	not startswith(value, prefix)
	object.get(item, "exclude", false) == false
}

sensitive contains name if {
	count(data.sensitive.exact) > 0
	some name, up in literal_name
	up in data.sensitive.exact
}

# Removing every part changes the name exactly when it contains one of them.
sensitive contains name if {
	count(data.sensitive.contains) > 0
	some name, up in literal_name
	strings.replace_n(data.sensitive.contains, up) != up
}

sensitive contains name if {
	count(data.sensitive.prefix) > 0
	some name, up in literal_name
	strings.any_prefix_match(up, data.sensitive.prefix)
}

sensitive contains name if {
	count(data.sensitive.suffix) > 0
	some name, up in literal_name
	strings.any_suffix_match(up, data.sensitive.suffix)
}

violations contains {"code": "sensitive-literal", "field": concat("", ["spec.environment.items.", name, ".value"])} if {
	some name in sensitive
}
