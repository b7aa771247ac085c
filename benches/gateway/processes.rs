//! The benchmark's processes: this program started again in a role (the upstream or the
//! gateway), optionally on one core, stopped when its standard input closes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::cpu::cpu_of;

/// What a started copy of this program is: `upstream` or `gateway`.
pub const ROLE: &str = "BENCH_GATEWAY_ROLE";

/// Wait until this process's standard input closes (its parent closed it, or exited).
pub async fn until_stdin_closes() {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    while tokio::io::stdin().read(&mut buf).await.unwrap_or(0) > 0 {}
}

/// A started copy of this program in `role`, on `cpu` when given; its first line.
pub struct Process {
    child: Child,
    pub first_line: String,
}

impl Process {
    pub fn start(role: &str, cpu: Option<usize>, env: &[(&str, &str)]) -> Process {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = match cpu {
            Some(c) => {
                let mut t = Command::new("taskset");
                t.arg("-c").arg(c.to_string()).arg(exe);
                t
            }
            None => Command::new(exe),
        };
        cmd.env(ROLE, role)
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        let mut first_line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first_line)
            .unwrap();
        assert!(!first_line.is_empty(), "the {role} process did not start");
        Process { child, first_line }
    }

    pub fn cpu(&self) -> Duration {
        cpu_of(&self.child.id().to_string())
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // Its standard input closes: it stops.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Pin this process (every thread) to `cpus`, with `taskset`; whether it could.
pub fn pin_self(cpus: &str) -> bool {
    Command::new("taskset")
        .args(["-a", "-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
