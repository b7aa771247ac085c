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
        let range = map.get("format").and_then(Value::as_str).and_then(range_of);
        map.remove("format");
        if let Some((min, max)) = range {
            if !map.contains_key("minimum") && !map.contains_key("exclusiveMinimum") {
                map.insert("minimum".into(), min);
            }
            if !map.contains_key("maximum") && !map.contains_key("exclusiveMaximum") {
                map.insert("maximum".into(), max);
            }
        } else if unsigned && !map.contains_key("minimum") && !map.contains_key("exclusiveMinimum")
        {
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

/// The range of an integer format schemars writes: what the Rust type holds, so the schema
/// refuses exactly what the server cannot parse.
fn range_of(format: &str) -> Option<(Value, Value)> {
    Some(match format {
        "uint8" => (json!(0), json!(u8::MAX)),
        "uint16" => (json!(0), json!(u16::MAX)),
        "uint32" => (json!(0), json!(u32::MAX)),
        "uint64" | "uint" => (json!(0), json!(u64::MAX)),
        "int8" => (json!(i8::MIN), json!(i8::MAX)),
        "int16" => (json!(i16::MIN), json!(i16::MAX)),
        "int32" => (json!(i32::MIN), json!(i32::MAX)),
        "int64" | "int" => (json!(i64::MIN), json!(i64::MAX)),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_go_and_integers_keep_the_range_of_their_type() {
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
        assert_eq!(
            p["n"],
            json!({"type": "integer", "minimum": 0, "maximum": u64::MAX})
        );
        assert_eq!(
            p["m"],
            json!({"type": ["integer", "null"], "minimum": 0, "maximum": 4_294_967_295u32})
        );
        assert_eq!(p["x"], json!({"type": "number"}));
        assert_eq!(p["at"]["format"], "date-time");
        assert_eq!(p["format"], json!({"type": "string"}));
        assert_eq!(p["any"], any_value());
        assert_eq!(p["list"]["items"], any_value());
    }
}
