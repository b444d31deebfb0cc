//! CPU time from Linux's `/proc/.../schedstat` (nanoseconds on a CPU), to say where a load
//! run's time goes: in the server, in the client, or in neither (waiting).
//!
//! On other systems, or where `/proc` is not mounted, every reading is `None` and the report
//! leaves the column empty.

use std::time::Duration;

fn schedstat(path: &str) -> Option<Duration> {
    let text = std::fs::read_to_string(path).ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// CPU time the calling thread has used so far.
pub fn this_thread() -> Option<Duration> {
    schedstat("/proc/thread-self/schedstat")
}

/// CPU time the live threads of process `pid` have used so far.
pub fn process(pid: u32) -> Option<Duration> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        // A thread that exits between the listing and the read just drops out of the sum.
        if let Some(time) = schedstat(&format!("{}/schedstat", task.path().display())) {
            total += time;
        }
    }
    Some(total)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn busy_work_shows_up() {
        let before = this_thread().expect("schedstat on Linux");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        assert!(this_thread().unwrap() > before);
        assert!(process(std::process::id()).unwrap() >= this_thread().unwrap());
    }
}
