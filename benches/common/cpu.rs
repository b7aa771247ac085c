//! The CPU time a process has spent, from `/proc`: what the benchmarks divide by the calls they
//! made to report CPU per call, a figure steadier than calls/s on a shared machine.

use std::time::Duration;

/// User and system CPU time of process `pid` (`self` for this one), from `/proc` (zero elsewhere).
pub fn cpu_of(pid: &str) -> Duration {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // The fields after the command name: utime and stime are the 12th and 13th, in ticks of
    // 1/100 s (USER_HZ).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}
