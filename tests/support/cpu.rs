//! CPU time of the processes a bench runs on this machine: itself (client and in-process
//! services), every PostgreSQL backend and Redis. Read from `/proc/<pid>/stat` (user + system
//! time of each live process; clock ticks of 1/100 s, Linux's `USER_HZ`), so a delta over a run
//! is the CPU that run cost, whichever core it ran on. Backends that exit during a run take
//! their time with them: benches keep their pools open across the measurement.

use std::time::Instant;

/// Linux reports process times in units of `USER_HZ`, 100 on every common configuration.
const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds used so far by this process and the database and cache servers.
pub fn seconds() -> f64 {
    let mut ticks = 0u64;
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0.0 };
    let me = std::process::id().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().filter(|n| n.bytes().all(|b| b.is_ascii_digit())) else { continue };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let comm = comm.trim();
        if pid != me && comm != "postgres" && comm != "redis-server" {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the command (which is in parentheses and may hold spaces): utime and
        // stime are the 12th and 13th of them.
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split(' ').collect();
        let time = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
        ticks += time(11) + time(12);
    }
    ticks as f64 / TICKS_PER_SECOND
}

/// A running measurement: CPU seconds and wall time since it started.
#[derive(Debug, Clone, Copy)]
pub struct Meter {
    cpu: f64,
    wall: Instant,
}

impl Meter {
    pub fn start() -> Self {
        Meter { cpu: seconds(), wall: Instant::now() }
    }

    /// Cores busy on average since the start (CPU seconds per second).
    pub fn cores(&self) -> f64 {
        (seconds() - self.cpu) / self.wall.elapsed().as_secs_f64()
    }

    /// CPU seconds since the start.
    pub fn cpu_seconds(&self) -> f64 {
        seconds() - self.cpu
    }
}
