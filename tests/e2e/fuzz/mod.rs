//! The hostile-input fuzz campaign. Every tool's input schema (as `tools/list` gives it) yields a
//! schema-valid baseline, and a fixed, seeded list of mutations is applied to it property by
//! property: control characters and NUL, oversized strings (1 MiB, 64 KiB, just past each cap),
//! wrong JSON types, negative, huge and fractional numbers, missing and unknown properties,
//! deep nesting, long arrays, unicode (emoji, right-to-left, combining marks), far timestamps
//! and odd idempotency keys. The same calls, in the same order, go to a server on SQLite and to
//! one on PostgreSQL (when `BILLING_TEST_POSTGRES_URL` is set), as the operator and (a subset)
//! as a customer key. What must hold: no panic, no protocol error where a tool result is due, no
//! `internal_error`, every error a JSON `{code, message}` with a short message, the same answers
//! on both backends, every refused and every mutating call in the audit log, and every audit
//! entry under 1 KB.
//!
//! `schema` reads each tool's input schema and makes a valid baseline, `mutations` holds the
//! fixed list of hostile values, `random` the seeded PRNG and its random values, `calls` puts
//! them together into the campaign's calls, `outcome` makes a call and reads its answer,
//! `normalise` makes answers comparable across backends, `checks` says what must hold (per call,
//! and of the audit log), `report` words what went wrong, `panics` counts the server's panics,
//! and `run` runs the campaign on one backend; the test below compares the backends.

mod calls;
mod checks;
mod mutations;
mod normalise;
mod outcome;
mod panics;
mod random;
mod report;
mod run;
mod schema;

use std::time::Duration;

use calls::Call;
use panics::count_panics;
use report::{cut, describe};
use run::{Run, run_backend};

use crate::support::backends;

/// The campaign's seed: change it to explore, keep it to reproduce.
const SEED: u64 = 0xB111_F022_5EED_0001;
/// Random mutations per property, on top of the fixed list.
const RANDOM_PER_PROPERTY: usize = 4;
/// The customer the customer key belongs to, and another one it may not reach.
const OWN: &str = "cust-a";
const OTHER: &str = "cust-b";
const CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// Placeholders in generated arguments, replaced on each backend by what its setup created.
const KEY_ID: &str = "$KEY_ID";
const GRANT_ID: &str = "$GRANT_ID";
const EVENT_ID: &str = "$EVENT_ID";

#[tokio::test]
async fn fuzz_campaign_over_every_tool_schema_holds_on_every_backend() {
    count_panics();
    let mut runs: Vec<Run> = Vec::new();
    let mut plan: Option<Vec<Call>> = None;
    for backend in backends() {
        let (run, calls) = run_backend(backend, plan.as_deref()).await;
        println!("{}", run.summary);
        plan.get_or_insert(calls);
        runs.push(run);
    }

    let mut failures: Vec<String> = Vec::new();
    for run in &runs {
        failures.extend(run.problems.report(run.backend));
    }
    if let [first, rest @ ..] = runs.as_slice() {
        for other in rest {
            if first.schemas != other.schemas {
                failures.push(format!(
                    "{:?} and {:?} list different tools or input schemas",
                    first.backend, other.backend
                ));
            }
            if first.records.len() != other.records.len() {
                failures.push(format!(
                    "{:?} answered {} calls, {:?} {}",
                    first.backend,
                    first.records.len(),
                    other.backend,
                    other.records.len()
                ));
            }
            let differing: Vec<usize> = first
                .records
                .iter()
                .zip(&other.records)
                .enumerate()
                .filter(|(_, (a, b))| a.answer != b.answer)
                .map(|(i, _)| i)
                .collect();
            if let Some(&i) = differing.first() {
                let (a, b) = (&first.records[i], &other.records[i]);
                let mut text = format!(
                    "{} of {} answers differ between {:?} and {:?}; the first, call #{i}: {}\n  {:?}: {}\n  {:?}: {}",
                    differing.len(),
                    first.records.len(),
                    first.backend,
                    other.backend,
                    describe(&a.call),
                    first.backend,
                    cut(&a.answer, 600),
                    other.backend,
                    cut(&b.answer, 600)
                );
                for &j in differing.iter().skip(1).take(15) {
                    let (a, b) = (&first.records[j], &other.records[j]);
                    text.push_str(&format!(
                        "\n  also #{j}: {}\n    {:?}: {}\n    {:?}: {}",
                        describe(&a.call),
                        first.backend,
                        cut(&a.answer, 300),
                        other.backend,
                        cut(&b.answer, 300)
                    ));
                }
                failures.push(text);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "the fuzz campaign found {} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
