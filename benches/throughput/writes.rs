//! The benchmark's second section: usage writes, in events/s: batches of 1,000 from one caller
//! and from four, 64 concurrent single writes, and one caller's single writes.

use std::time::Instant;

use crate::{app, create_customer};

fn events(customer: &str, n: usize, tag: &str) -> Vec<billing_mcp::service::usage::UsageInput> {
    (0..n)
        .map(|i| billing_mcp::service::usage::UsageInput {
            customer: customer.into(),
            meter: "tool_calls".into(),
            quantity: 1,
            idempotency_key: Some(format!("{tag}-{i}")),
            dimensions: [("tool".to_string(), format!("t{}", i % 7))].into(),
            ..Default::default()
        })
        .collect()
}

pub async fn bench_writes(label: &str, url: &str) {
    let app = app(url).await;
    create_customer(&app, "w", "metered").await;
    let batches = 50;
    // The inputs are the load generator's work: built before the clock starts.
    let inputs: Vec<_> = (0..batches)
        .map(|b| events("w", 1000, &format!("b{b}")))
        .collect();
    let start = Instant::now();
    for batch in inputs {
        let r = billing_mcp::service::usage::record_batch(&app, batch)
            .await
            .unwrap();
        assert_eq!(r.recorded, 1000);
    }
    let batch_rate = (batches * 1000) as f64 / start.elapsed().as_secs_f64();
    // The same number of batches from four callers at once: the writer may take several callers'
    // batches into one commit, and a caller prepares its next batch while the writer commits.
    let callers = 4;
    let inputs: Vec<Vec<_>> = (0..callers)
        .map(|c| {
            (0..batches / callers)
                .map(|b| events("w", 1000, &format!("c{c}-{b}")))
                .collect()
        })
        .collect();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for caller in inputs {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            for batch in caller {
                let r = billing_mcp::service::usage::record_batch(&app, batch)
                    .await
                    .unwrap();
                assert_eq!(r.recorded, 1000);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent_batch_rate =
        ((batches / callers) * callers * 1000) as f64 / start.elapsed().as_secs_f64();
    let singles = 4000;
    let single_inputs = events("w", singles, "s");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for chunk in single_inputs.chunks(singles / 64) {
        let (app, chunk) = (app.clone(), chunk.to_vec());
        tasks.push(tokio::spawn(async move {
            for e in chunk {
                billing_mcp::service::usage::record(&app, e).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let concurrent_rate = singles as f64 / start.elapsed().as_secs_f64();
    let sequential_inputs = events("w", 500, "seq");
    let start = Instant::now();
    for e in sequential_inputs {
        billing_mcp::service::usage::record(&app, e).await.unwrap();
    }
    let sequential_rate = 500.0 / start.elapsed().as_secs_f64();
    println!(
        "| {label} | {batch_rate:.0} | {concurrent_batch_rate:.0} | {concurrent_rate:.0} | {sequential_rate:.0} |"
    );
}
