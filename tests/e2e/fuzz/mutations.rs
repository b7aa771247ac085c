//! The fixed list of mutations: the wrong JSON types every property gets, then what its flavour
//! calls for (out-of-range numbers; control characters, NUL, oversized and odd unicode strings;
//! far and malformed timestamps), and values because of what a property is (the example
//! catalog's names, the other customer, enum choices, long arrays, large and odd maps).

use serde_json::{Value, json};

use super::OTHER;
use super::schema::{choices, example, is_map, kind, non_null};

const MIB: usize = 1 << 20;

/// The example catalog's names (`examples/billing.toml`).
const PLANS: [&str; 7] = [
    "free",
    "starter",
    "professional",
    "per_call",
    "metered",
    "credits",
    "forensics",
];
const METERS: [&str; 9] = [
    "tool_calls",
    "llm_tokens",
    "tools_used",
    "agents",
    "cases",
    "events_ingested",
    "api_calls",
    "vex",
    "fu",
];
const FEATURES: [&str; 4] = ["tool_calls", "premium_tools", "forensics", "agents"];
const TOOLS: [&str; 3] = ["ai-image-generator", "data-analysis", "simple-calculator"];

pub(super) fn deep_object(depth: usize) -> Value {
    (0..depth).fold(json!("bottom"), |inner, _| json!({ "a": inner }))
}

fn deep_array(depth: usize) -> Value {
    (0..depth).fold(json!(1), |inner, _| json!([inner]))
}

/// How a property is fuzzed beyond the wrong JSON types every property gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flavour {
    /// Integers and numbers: out of range, negative, fractional.
    Number,
    /// Identifiers, keys, URLs, codes: characters outside the set, lengths past the cap.
    Word,
    /// Times, intervals, statuses, cursors and free text: the above, and odd timestamps.
    Text,
    /// Booleans, objects, arrays: wrong types only (their parts are fuzzed on their own).
    Other,
}

pub(super) fn flavour(root: &Value, s: &Value) -> Flavour {
    let s = non_null(root, s);
    match kind(s) {
        "integer" | "number" => Flavour::Number,
        "string" => {
            let pattern = s.get("pattern").and_then(Value::as_str).unwrap_or("");
            if pattern.starts_with("^[^") || pattern.is_empty() {
                Flavour::Text
            } else {
                Flavour::Word
            }
        }
        _ => Flavour::Other,
    }
}

/// Values a property is tried with: wrong JSON types for every property, then what its flavour
/// calls for. 1 MiB goes to every string property (and its NUL-ended twin to `customer`).
pub(super) fn generic_values(f: Flavour, name: &str) -> Vec<(String, Value)> {
    let s = |label: &str, v: Value| (label.to_string(), v);
    let mut v = vec![
        s("null", Value::Null),
        s("true", json!(true)),
        s("0", json!(0)),
        s("-1", json!(-1)),
        s("1.5", json!(1.5)),
        s("u64::MAX", json!(u64::MAX)),
        s("empty string", json!("")),
        s("string 42", json!("42")),
        s("empty array", json!([])),
        s("mixed array", json!([1, "a", null, {}])),
        s("empty object", json!({})),
        s("object", json!({"a": 1, "b": [true]})),
        s("NUL", json!("a\u{0}b")),
        s("64 KiB", json!("z".repeat(64 << 10))),
        s("deep object", deep_object(50)),
        s("deep array", deep_array(50)),
        s("long array", Value::Array(vec![json!(1); 10_000])),
    ];
    let numbers = [
        s("false", json!(false)),
        s("i64::MIN", json!(i64::MIN)),
        s("u32::MAX", json!(u32::MAX)),
        s("u32::MAX+1", json!(u64::from(u32::MAX) + 1)),
        s("i64::MAX", json!(i64::MAX)),
        s("i64::MAX+1", json!(9_223_372_036_854_775_808_u64)),
        s(
            "u64::MAX+1 as a float",
            json!(18_446_744_073_709_551_616.0_f64),
        ),
        s("1.0", json!(1.0)),
        s("-0.5", json!(-0.5)),
        s("1e308", json!(1e308)),
        s("-1e308", json!(-1e308)),
        s("5e-324", json!(5e-324)),
        s("string -1", json!("-1")),
        s("string 1.5", json!("1.5")),
        s("string 1e3", json!("1e3")),
    ];
    let words = [
        s("only NUL", json!("\u{0}")),
        s("controls", json!("\u{1}\u{7}\u{1b}[2J\u{7f}\u{85}\u{9f}")),
        s("line breaks", json!("a\nb\tc\rd")),
        s("1 MiB", json!("z".repeat(MIB))),
        s("65 chars", json!("x".repeat(65))),
        s("129 chars", json!("x".repeat(129))),
        s("255 chars", json!("k".repeat(255))),
        s("256 chars", json!("x".repeat(256))),
        s("emoji", json!("🦀💸👩‍👩‍👧‍👦")),
        s("right-to-left", json!("\u{202e}fdp.exe مرحبا بالعالم")),
        s(
            "combining marks",
            json!(format!("Z{}", "\u{336}\u{301}\u{489}".repeat(50))),
        ),
        s("zero width", json!("\u{feff}\u{200b}a\u{200d}")),
        s("fullwidth", json!("ｃｕｓｔ－ａ")),
        s("max code point", json!("\u{10ffff}\u{fffe}")),
        s("key with space", json!("key with space")),
        s("cyrillic", json!("ключ")),
        s("sql", json!("k'; DROP TABLE audit_log;--")),
        s("like wildcards", json!("%_%")),
        s("quotes and backslash", json!("\\\"'`")),
        s("printable edges", json!("!~")),
        s("path", json!("../../etc/passwd")),
        s("url-encoded NUL", json!("%00")),
        s("escaped NUL text", json!("\\u0000")),
        s("html", json!("<script>alert(1)</script>")),
        s("secret-shaped", json!("sk_live_0123456789abcdef")),
    ];
    let texts = [
        s("NUL after 200", json!(format!("{}\u{0}", "x".repeat(200)))),
        s(
            "64 KiB ending in NUL",
            json!(format!("{}\u{0}", "y".repeat(64 << 10))),
        ),
        s("64 KiB of 2-byte chars", json!("é".repeat(32 << 10))),
        s("501 chars", json!("x".repeat(501))),
        s("year 0001", json!("0001-01-01T00:00:00Z")),
        s("year 9999", json!("9999-12-31T23:59:59Z")),
        s("year 0000", json!("0000-01-01T00:00:00Z")),
        s("before the epoch", json!("1969-12-31T23:59:59Z")),
        s("offset +14:00", json!("2026-11-21T10:30:00+14:00")),
        s("nanoseconds", json!("2026-11-21T10:29:59.999999999Z")),
        s("February 30", json!("2026-02-30T00:00:00Z")),
        s("leap second", json!("2016-12-31T23:59:60Z")),
        s("no zone", json!("2026-11-21T10:30:00")),
        s("space separated", json!("2026-11-21 10:30:00Z")),
        s("extended year", json!("+275760-09-13T00:00:00Z")),
        s("35 days ago", json!("2026-10-17T10:30:00Z")),
        s("4 minutes ahead", json!("2026-11-21T10:34:00Z")),
        s("epoch seconds", json!("1795257000")),
    ];
    match f {
        Flavour::Number => v.extend(numbers),
        Flavour::Word => v.extend(words),
        Flavour::Text => {
            v.extend(words);
            v.extend(texts);
        }
        Flavour::Other => v.push(s("false", json!(false))),
    }
    if name == "customer" {
        v.push(s(
            "1 MiB ending in NUL",
            json!(format!("{}\u{0}", "y".repeat(MIB))),
        ));
    }
    v
}

/// Values for a property because of what it is (its name, its enum, its shape).
pub(super) fn specific_values(
    root: &Value,
    tool: &str,
    name: &str,
    s: &Value,
) -> Vec<(String, Value)> {
    let s = non_null(root, s);
    let mut v: Vec<(String, Value)> = Vec::new();
    let mut add = |label: String, value: Value| v.push((label, value));
    match name {
        "customer" => {
            for c in [OTHER, "nobody", "CUST-A", "cust-a ", " cust-a"] {
                add(format!("customer {c:?}"), json!(c));
            }
            add("customer of 128".into(), json!("c".repeat(128)));
        }
        "plan" => {
            for p in PLANS.iter().chain(&["nonexistent", "Starter"]) {
                add(format!("plan {p}"), json!(p));
            }
        }
        "meter" => {
            for m in METERS.iter().chain(&["nonexistent"]) {
                add(format!("meter {m}"), json!(m));
            }
        }
        "feature" => {
            for f in FEATURES.iter().chain(&["nonexistent", "tool_calls "]) {
                add(format!("feature {f}"), json!(f));
            }
        }
        "tool" => {
            for t in TOOLS {
                add(format!("tool {t}"), json!(t));
            }
        }
        "key_id" | "starting_after" => {
            for k in ["bmcp_0000000000000000", "bmcp_FFFFFFFFFFFFFFFF", "evt_0"] {
                add(format!("{name} {k}"), json!(k));
            }
        }
        "reserved_json" => {
            add(
                "reserved example".into(),
                json!(crate::support::RESERVED_JSON),
            );
            add("reserved not JSON".into(), json!("{"));
            add(
                "reserved escaped NUL".into(),
                json!("{\"cust-a\\u0000\": {}}"),
            );
            add(
                "reserved huge number".into(),
                json!("{\"cust-a\": {\"vex_reserved\": 1e999}}"),
            );
            add(
                "reserved deep".into(),
                json!(format!("{}1{}", "[".repeat(5000), "]".repeat(5000))),
            );
        }
        _ => {}
    }
    for c in choices(s) {
        add(format!("choice {c}"), c.clone());
        if let Some(text) = c.as_str() {
            add(
                format!("choice {} upper case", text.to_uppercase()),
                json!(text.to_uppercase()),
            );
        }
    }
    match kind(s) {
        "array" => {
            let item = s.get("items").cloned().unwrap_or(Value::Null);
            let one = example(root, tool, name.trim_end_matches('s'), &item);
            add("1001 items".into(), Value::Array(vec![one.clone(); 1001]));
            add("items of null".into(), json!([null]));
            add("nested items".into(), json!([[one]]));
        }
        "object" if is_map(s) => {
            add("one entry".into(), json!({"k": "v"}));
            let many =
                |n: usize| Value::Object((0..n).map(|i| (format!("k{i}"), json!("v"))).collect());
            add("17 entries".into(), many(17));
            add("51 entries".into(), many(51));
            add("10000 entries".into(), many(10_000));
            add("empty key".into(), json!({"": "v"}));
            add("key of 65".into(), json!({ "k".repeat(65): "v" }));
            add("key of 64 KiB".into(), json!({ "k".repeat(64 << 10): "v" }));
            add("NUL key".into(), json!({"a\u{0}": "v"}));
            add("emoji key".into(), json!({"🦀": "💸"}));
            add("number value".into(), json!({"k": 1}));
            add("null value".into(), json!({"k": null}));
            add("object value".into(), json!({"k": {"a": "b"}}));
            add("value of 257".into(), json!({"k": "v".repeat(257)}));
            add("value of 501".into(), json!({"k": "v".repeat(501)}));
            add("NUL value".into(), json!({"k": "v\u{0}"}));
            add(
                "secret value".into(),
                json!({"token": "bmcp_0123456789abcdef_00"}),
            );
        }
        _ => {}
    }
    v
}
