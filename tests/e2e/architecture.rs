//! The layers stay real: read the source tree and fail when a lower layer names a higher one
//! (`crate::…` anywhere in its code), when two of the service's modules need each other, or when
//! a source file grows past 500 lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each top-level module's layer: a module may name only modules of a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("core", 0),
    ("ids", 0),
    ("clock", 0),
    ("values", 1),
    ("catalog", 2),
    ("store", 2),
    ("access", 3),
    ("stripe", 3),
    ("service", 4),
    ("mcp", 5),
    ("config", 6),
    ("transport", 7),
];

const MAX_LINES: usize = 500;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let skipped = path
            .file_name()
            .is_some_and(|n| n == "node_modules" || n == "target");
        if path.is_dir() && !skipped {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comment lines (doc links may name any layer).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `<prefix>name` in `text`: the module names it reaches.
fn named(text: &str, prefix: &str) -> BTreeSet<String> {
    text.match_indices(prefix)
        .filter(|(at, _)| {
            // A whole path segment: not `my_crate::…` or `x.super::…`.
            !text[..*at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(at, _)| {
            text[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

/// The top-level module a file under `src/` belongs to (`None` for the crate root files).
fn top_module(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" | "main.rs" => None,
        f => Some(f.trim_end_matches(".rs").to_string()),
    }
}

#[test]
fn no_layer_names_a_layer_above_it() {
    let src = root().join("src");
    let layers: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = top_module(&src, file) else {
            continue;
        };
        let Some(&own) = layers.get(module.as_str()) else {
            wrong.push(format!(
                "{}: module `{module}` has no layer in LAYERS",
                file.display()
            ));
            continue;
        };
        for used in named(&code(file), "crate::") {
            if used == module {
                continue;
            }
            match layers.get(used.as_str()) {
                Some(&layer) if layer < own => {}
                _ => wrong.push(format!(
                    "{}: `{module}` (layer {own}) names `crate::{used}`",
                    file.strip_prefix(root()).unwrap().display()
                )),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "layers must point down:\n{}",
        wrong.join("\n")
    );
}

/// The service's modules that `file` names: `crate::service::x` anywhere, and `super::x` in
/// the files directly under `src/service` (where `super` is the service itself).
fn service_deps(service: &Path, file: &Path) -> BTreeSet<String> {
    let text = code(file);
    let mut deps = named(&text, "crate::service::");
    let direct = file.parent() == Some(service)
        || (file.file_name().is_some_and(|n| n == "mod.rs")
            && file.parent().and_then(Path::parent) == Some(service));
    if direct {
        deps.extend(named(&text, "super::"));
    }
    deps
}

#[test]
fn no_two_service_modules_need_each_other() {
    let service = root().join("src/service");
    let mut files = Vec::new();
    rust_files(&service, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let rel = file.strip_prefix(&service).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        if first == "mod.rs" {
            continue;
        }
        let module = first.trim_end_matches(".rs").to_string();
        let deps = service_deps(&service, file);
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(deps.into_iter().filter(|d| *d != module));
    }
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| modules.contains(d));
    }
    // A circle is a path from a module back to itself.
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for next in &graph[&at] {
                if next == start {
                    circles.push(format!("{} → {start}", path.join(" → ")));
                } else if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next.clone(), longer));
                }
            }
        }
    }
    assert!(
        circles.is_empty(),
        "service modules in a circle (one of them should own the shared piece):\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_source_file_is_over_500_lines() {
    let mut files = Vec::new();
    for dir in ["src", "tests", "benches"] {
        let path = root().join(dir);
        if path.is_dir() {
            rust_files(&path, &mut files);
        }
    }
    assert!(files.len() > 50, "the source tree was not found");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > MAX_LINES).then(|| {
                format!(
                    "{}: {lines} lines",
                    f.strip_prefix(root()).unwrap().display()
                )
            })
        })
        .collect();
    assert!(
        long.is_empty(),
        "split these by responsibility:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_check_sees_what_it_checks() {
    // The reader finds paths, not look-alikes, so the tests above cannot pass by reading nothing.
    let text = "use crate::service::App;\nlet x = my_crate::mcp::y; crate::store::open()";
    let found: Vec<String> = named(text, "crate::").into_iter().collect();
    assert_eq!(found, ["service", "store"]);
    assert!(code(&root().join("src/service/mod.rs")).contains("crate::store"));
}
