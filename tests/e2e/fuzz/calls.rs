//! The campaign's calls: for each tool, a baseline from its schema, unknown and missing
//! properties, then every mutation at every property (one level into objects and arrays), in a
//! fixed order from the seed; the operator's calls, with the customer key's copies among them.

use serde_json::{Value, json};

use super::mutations::{deep_object, flavour, generic_values, specific_values};
use super::random::{Rng, random_value};
use super::schema::{example, is_map, kind, non_null, properties, required};
use super::{RANDOM_PER_PROPERTY, SEED};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Who {
    Operator,
    Customer,
}

impl Who {
    pub(super) fn role(self) -> &'static str {
        match self {
            Who::Operator => "admin",
            Who::Customer => "customer",
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Call {
    pub(super) who: Who,
    pub(super) tool: String,
    pub(super) label: String,
    pub(super) args: Value,
}

/// A step into a property: an object's key, or the first item of an array.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    First,
}

/// Properties to mutate: the top level's, and one level into objects and arrays of objects.
fn paths(root: &Value) -> Vec<(Vec<Step>, String, Value)> {
    let mut out = Vec::new();
    for (name, ps) in properties(root) {
        out.push((vec![Step::Key(name.clone())], name.clone(), ps.clone()));
        let inner = non_null(root, &ps);
        let (prefix, object) = match kind(inner) {
            "array" => {
                let item = inner.get("items").cloned().unwrap_or(Value::Null);
                (
                    vec![Step::Key(name.clone()), Step::First],
                    non_null(root, &item).clone(),
                )
            }
            "object" if !is_map(inner) => (vec![Step::Key(name.clone())], inner.clone()),
            _ => continue,
        };
        for (child, cs) in properties(&object) {
            let mut path = prefix.clone();
            path.push(Step::Key(child.clone()));
            out.push((path, format!("{name}.{child}"), cs));
        }
    }
    out
}

/// `args` with the value at `path` set (parents filled in with valid values), or removed.
fn with_value(
    root: &Value,
    tool: &str,
    base: &Value,
    path: &[Step],
    value: Option<Value>,
) -> Value {
    let mut args = base.clone();
    let mut schema = root.clone();
    let mut here = &mut args;
    for (i, step) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        match step {
            Step::Key(k) => {
                let child = properties(&schema)
                    .into_iter()
                    .find(|(p, _)| p == k)
                    .map(|(_, s)| non_null(root, &s).clone())
                    .unwrap_or(Value::Null);
                let Some(obj) = here.as_object_mut() else {
                    return args;
                };
                if last {
                    match value {
                        Some(v) => obj.insert(k.clone(), v),
                        None => obj.remove(k),
                    };
                    return args;
                }
                if !obj.contains_key(k) {
                    obj.insert(k.clone(), example(root, tool, k, &child));
                }
                schema = child;
                here = obj.get_mut(k).unwrap();
            }
            Step::First => {
                let item = schema.get("items").cloned().unwrap_or(Value::Null);
                schema = non_null(root, &item).clone();
                match here.as_array_mut().and_then(|a| a.first_mut()) {
                    Some(first) => here = first,
                    None => return args,
                }
            }
        }
    }
    args
}

/// Every call of the campaign for one tool, as the operator, in a fixed order.
fn calls_for(rng: &mut Rng, tool: &str, root: &Value) -> Vec<Call> {
    let call = |label: String, args: Value| Call {
        who: Who::Operator,
        tool: tool.to_string(),
        label,
        args,
    };
    let base = example(root, tool, "", root);
    let mut out = vec![call("baseline".into(), base.clone())];
    let mut full = base.clone();
    for (name, ps) in properties(root) {
        if let Some(obj) = full.as_object_mut() {
            obj.entry(name.clone())
                .or_insert_with(|| example(root, tool, &name, &ps));
        }
    }
    out.push(call("every property".into(), full));
    out.push(call("empty object".into(), json!({})));
    let mut extra = |label: &str, key: String, v: Value| {
        let mut args = base.clone();
        if let Some(obj) = args.as_object_mut() {
            obj.insert(key, v);
        }
        out.push(call(label.into(), args));
    };
    extra("unknown property", "zz_unknown".into(), json!(1));
    extra("__proto__", "__proto__".into(), json!({"admin": true}));
    extra("property name of 64 KiB", "p".repeat(64 << 10), json!(1));
    extra("NUL property name", "a\u{0}".into(), json!(1));
    extra(
        "control-character property name",
        "\u{9f}".repeat(300),
        json!(1),
    );
    extra("deep unknown property", "nest".into(), deep_object(50));
    let mut many = base.clone();
    if let Some(obj) = many.as_object_mut() {
        for i in 0..200 {
            obj.insert(format!("extra_{i}"), json!(i));
        }
    }
    out.push(call("200 unknown properties".into(), many));
    for name in required(root) {
        out.push(call(
            format!("without {name}"),
            with_value(root, tool, &base, &[Step::Key(name.clone())], None),
        ));
    }
    for (path, name, ps) in paths(root) {
        let leaf = name.rsplit('.').next().unwrap_or(&name).to_string();
        let valid = example(root, tool, &leaf, &ps);
        out.push(call(
            format!("{name}: valid"),
            with_value(root, tool, &base, &path, Some(valid)),
        ));
        if path.len() > 1 {
            out.push(call(
                format!("{name}: absent"),
                with_value(root, tool, &base, &path, None),
            ));
        }
        let mut values = specific_values(root, tool, &leaf, &ps);
        values.extend(generic_values(flavour(root, &ps), &leaf));
        for _ in 0..RANDOM_PER_PROPERTY {
            let v = random_value(rng, 0);
            values.push(("random".into(), v));
        }
        for (label, v) in values {
            out.push(call(
                format!("{name}: {label}"),
                with_value(root, tool, &base, &path, Some(v)),
            ));
        }
    }
    out
}

/// The operator's calls, each followed by the customer key's copy when the customer key can
/// call the tool (every call) or, for the rest, every seventh (all refused: `forbidden`).
pub(super) fn campaign(schemas: &[(String, Value)], customer_tools: &[String]) -> Vec<Call> {
    let mut rng = Rng(SEED);
    let mut out = Vec::new();
    let mut n = 0usize;
    for (tool, schema) in schemas {
        for c in calls_for(&mut rng, tool, schema) {
            n += 1;
            let copy = customer_tools.contains(tool) || n.is_multiple_of(7);
            let customer = Call {
                who: Who::Customer,
                ..c.clone()
            };
            out.push(c);
            if copy {
                out.push(customer);
            }
        }
    }
    out
}
