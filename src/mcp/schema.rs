//! Portable JSON schemas for tools. schemars writes what Rust knows (`format: uint64`, `int32`,
//! `double`, and `true` for a field of any JSON value); MCP clients validate with Ajv and
//! friends, which warn on every `tools/list` about formats JSON Schema does not define and read
//! a bare `true` as "no contract at all". [`portable`] rewrites a generated schema once, where
//! the registry builds each tool: non-standard formats go (an unsigned integer keeps, or gains,
//! `minimum: 0`), and every schema that admits anything says so with the JSON types it admits.

use serde_json::{Map, Value, json};

/// The `format` values JSON Schema 2020-12 defines (§7.3); any other is dropped.
pub const STANDARD_FORMATS: [&str; 19] = [
    "date-time",
    "date",
    "time",
    "duration",
    "email",
    "idn-email",
    "hostname",
    "idn-hostname",
    "ipv4",
    "ipv6",
    "uri",
    "uri-reference",
    "iri",
    "iri-reference",
    "uuid",
    "uri-template",
    "json-pointer",
    "relative-json-pointer",
    "regex",
];

/// Keywords whose value is one schema.
const ONE_SCHEMA: [&str; 12] = [
    "items",
    "additionalProperties",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
    "contentSchema",
];

/// Keywords whose value is a list of schemas.
const SCHEMA_LISTS: [&str; 4] = ["anyOf", "allOf", "oneOf", "prefixItems"];

/// Keywords whose value maps names to schemas.
const SCHEMA_MAPS: [&str; 5] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// What a schema that admits any JSON value says instead of `true` or `{}`.
pub fn any_value() -> Value {
    json!({
        "type": ["object", "array", "string", "number", "boolean", "null"],
        "description": "any JSON value"
    })
}

/// The schema rewritten to be portable (see the module header).
pub fn portable(mut schema: Map<String, Value>) -> Map<String, Value> {
    rewrite_object(&mut schema);
    schema
}

/// Rewrites one sub-schema in place.
fn rewrite(schema: &mut Value) {
    match schema {
        Value::Bool(true) => *schema = any_value(),
        Value::Object(map) if admits_anything(map) => {
            if let Value::Object(any) = any_value() {
                for (k, v) in any {
                    map.entry(k).or_insert(v);
                }
            }
        }
        Value::Object(map) => rewrite_object(map),
        _ => {}
    }
}

/// A schema whose keywords constrain nothing (`{}`, or only annotations such as a description).
fn admits_anything(map: &Map<String, Value>) -> bool {
    map.keys().all(|k| {
        matches!(
            k.as_str(),
            "description" | "title" | "default" | "examples" | "$comment" | "deprecated"
        )
    })
}

fn rewrite_object(map: &mut Map<String, Value>) {
    let unsigned = map
        .get("format")
        .and_then(Value::as_str)
        .is_some_and(|f| f.starts_with("uint"));
    let standard = map
        .get("format")
        .and_then(Value::as_str)
        .is_none_or(|f| STANDARD_FORMATS.contains(&f));
    if !standard {
        map.remove("format");
        if unsigned && !map.contains_key("minimum") && !map.contains_key("exclusiveMinimum") {
            map.insert("minimum".into(), json!(0));
        }
    }
    for (key, value) in map.iter_mut() {
        let key = key.as_str();
        if ONE_SCHEMA.contains(&key) {
            rewrite(value);
        } else if SCHEMA_LISTS.contains(&key) {
            if let Value::Array(list) = value {
                list.iter_mut().for_each(rewrite);
            }
        } else if SCHEMA_MAPS.contains(&key)
            && let Value::Object(children) = value
        {
            children.values_mut().for_each(rewrite);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_and_unsigned_integers_keep_their_floor() {
        let Value::Object(schema) = json!({
            "type": "object",
            "properties": {
                "n": {"type": "integer", "format": "uint64", "minimum": 0},
                "m": {"type": ["integer", "null"], "format": "uint32"},
                "x": {"type": "number", "format": "double"},
                "at": {"type": "string", "format": "date-time"},
                "format": {"type": "string"},
                "any": true,
                "list": {"type": "array", "items": {}},
            },
        }) else {
            unreachable!()
        };
        let out = Value::Object(portable(schema));
        let p = &out["properties"];
        assert_eq!(p["n"], json!({"type": "integer", "minimum": 0}));
        assert_eq!(p["m"], json!({"type": ["integer", "null"], "minimum": 0}));
        assert_eq!(p["x"], json!({"type": "number"}));
        assert_eq!(p["at"]["format"], "date-time");
        assert_eq!(p["format"], json!({"type": "string"}));
        assert_eq!(p["any"], any_value());
        assert_eq!(p["list"]["items"], any_value());
    }
}
