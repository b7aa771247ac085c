//! The README stays true: its tool table matches the registry (toolset, read-only, keys), its
//! configuration references list exactly the flags `serve` and `gateway` take, and its metrics
//! table exactly the metrics the server emits.

use billing_mcp::access::Audience;
use billing_mcp::mcp::tools;

#[test]
fn the_readme_tool_table_matches_the_registry() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<Vec<String>> = readme
        .lines()
        .filter(|l| l.starts_with("| `"))
        .filter_map(|l| {
            let cells: Vec<String> = l.split('|').map(|c| c.trim().to_string()).collect();
            tools::all().get(cells.get(1)?.trim_matches('`'))?;
            Some(cells)
        })
        .collect();
    let registry = tools::all();
    assert_eq!(
        rows.len(),
        registry.entries().len(),
        "one README row per tool"
    );
    for cells in rows {
        let name = cells[1].trim_matches('`');
        let e = registry.get(name).unwrap();
        assert_eq!(cells[2], e.toolset.as_str(), "{name}: README toolset");
        assert_eq!(
            cells[3] == "yes",
            e.hints.read_only,
            "{name}: README read-only column"
        );
        let keys = match e.audience {
            Audience::Admin => "admin",
            Audience::Service => "admin, service",
            Audience::OwnCustomer => "all (customer: own)",
            Audience::Anyone => "all",
        };
        assert_eq!(cells[4], keys, "{name}: README keys column");
    }
}

/// A flag's long name at the start of `text`.
fn flag(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix("--")?;
    let name: String = rest
        .chars()
        .take_while(|c| c.is_ascii_lowercase() || *c == '-')
        .collect();
    (!name.is_empty()).then(|| format!("--{name}"))
}

/// The long flags a command's `--help` lists.
fn flags_of(command: &str) -> std::collections::BTreeSet<String> {
    let help = std::process::Command::new(crate::support::BINARY)
        .args([command, "--help"])
        .output()
        .unwrap();
    String::from_utf8(help.stdout)
        .unwrap()
        .lines()
        .map(str::trim_start)
        .filter_map(|l| flag(l.split_once(", ").map_or(l, |(_, long)| long)))
        .filter(|f| f != "--help")
        .collect()
}

/// The flags the README's rows starting with `prefix` document.
fn documented(prefix: &str) -> std::collections::BTreeSet<String> {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(flag)
        .collect()
}

/// `gateway`'s own flags (beside the ones it shares with `serve`) have their rows in the README's
/// gateway reference, and every row names one.
#[test]
fn the_readme_gateway_reference_matches_its_flags() {
    let serve = flags_of("serve");
    let own: std::collections::BTreeSet<String> =
        flags_of("gateway").difference(&serve).cloned().collect();
    assert!(own.contains("--upstream"), "{own:?}");
    assert_eq!(own, documented("| `gateway "));
}

/// Every flag `serve` takes has its row in the README's configuration reference, and every row
/// names a flag `serve` takes.
#[test]
fn the_readme_configuration_reference_matches_serves_flags() {
    let taken = flags_of("serve");
    let documented: std::collections::BTreeSet<String> = documented("| `")
        .union(&documented("| `serve "))
        .cloned()
        .collect();
    let missing: Vec<_> = taken.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "flags without a README row: {missing:?}"
    );
    let unknown: Vec<_> = documented.difference(&taken).collect();
    assert!(
        unknown.is_empty(),
        "README rows for flags serve does not take: {unknown:?}"
    );
}

/// The names of the metrics `src` records: the name each `metrics::counter!`, `histogram!` or
/// `gauge!` call starts with.
fn metrics_in(dir: &std::path::Path, out: &mut std::collections::BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            metrics_in(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for call in [
            "metrics::counter!(",
            "metrics::histogram!(",
            "metrics::gauge!(",
        ] {
            for (at, _) in text.match_indices(call) {
                let rest = text[at + call.len()..].trim_start();
                let name = rest.strip_prefix('"').and_then(|r| r.split('"').next());
                out.insert(
                    name.unwrap_or_else(|| panic!("{path:?}: a metric named by a variable"))
                        .to_string(),
                );
            }
        }
    }
}

#[test]
fn the_readme_metrics_table_lists_every_metric_the_server_records() {
    let mut recorded = std::collections::BTreeSet::new();
    metrics_in(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src")),
        &mut recorded,
    );
    assert!(
        recorded.contains("billing_mcp_operations_total"),
        "{recorded:?}"
    );
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("### Metrics")
        .nth(1)
        .and_then(|s| s.split("\n#").next())
        .unwrap();
    // The first cell of each row: one or more `names`.
    let documented: std::collections::BTreeSet<String> = section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split(" |").next())
        .flat_map(|cell| cell.split('`').step_by(2).map(str::to_string))
        .filter(|n| n.starts_with("billing_"))
        .collect();
    assert_eq!(recorded, documented);
}
