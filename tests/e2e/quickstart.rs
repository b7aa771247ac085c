//! The README's quickstart, run as written: the bash block after its `quickstart` marker, with
//! the binary on PATH, in an empty directory, on a free port instead of 8080.

use std::time::Duration;

fn quickstart_block() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let after = readme
        .split("<!-- quickstart:")
        .nth(1)
        .expect("the README marks its quickstart");
    let block = after.split("```bash\n").nth(1).unwrap();
    block.split("\n```").next().unwrap().to_string()
}

#[tokio::test]
async fn the_readme_quickstart_gets_five_allowed_checks_then_a_denial() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = quickstart_block().replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
    let bin_dir = std::path::Path::new(crate::support::BINARY)
        .parent()
        .unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env_remove("DATABASE_URL")
        .env_remove("BILLING_CATALOG")
        .env_remove("STRIPE_SECRET_KEY")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("\"jsonrpc\""))
        .collect();
    assert_eq!(lines.len(), 7, "one answer per call: {stdout}");
    assert!(
        lines[0].contains(r#"\"customer\":\"acme\""#),
        "{}",
        lines[0]
    );
    for (i, line) in lines[1..6].iter().enumerate() {
        assert!(
            line.contains(r#"\"allowed\":true"#),
            "check {}: {line}",
            i + 1
        );
        assert!(
            line.contains(&format!("Allowed; {} remaining in this hour.", 4 - i)),
            "{line}"
        );
    }
    assert!(lines[6].contains(r#"\"allowed\":false"#), "{}", lines[6]);
    assert!(
        lines[6].contains("The hour limit of 5 is used up"),
        "{}",
        lines[6]
    );
}
