//! The binary: `serve` in a child process as `load` starts it, and `load` printing its table.

use sessionlab_web::client::Client;
use sessionlab_web::supervise::{ServerChild, ServerFate};
use std::process::Command;
use std::time::Duration;

const EXE: &str = env!("CARGO_BIN_EXE_sessionlab-web");

/// `serve --store <store>` on a free loopback port with a one-minute ttl, as a child process.
fn serve(store: &str) -> ServerChild {
    let mut command = Command::new(EXE);
    command.args(["serve", "--store", store, "--addr", "127.0.0.1:0", "--ttl", "1m"]);
    ServerChild::spawn(command, Duration::from_secs(20)).unwrap()
}

#[test]
fn serve_answers_and_stops_cleanly() {
    let child = serve("sharded");
    assert!(child.addr().ip().is_loopback());
    let mut client = Client::connect(child.addr(), Duration::from_secs(10)).unwrap();
    let answer = client.post("/login", None, b"user=dora").unwrap();
    assert_eq!(answer.status, 303);
    assert!(answer.set_cookies[0].contains("Max-Age=60"));
    let (fate, stderr) = child.finish(None);
    assert_eq!(fate, ServerFate::Fine, "{stderr}");
}

#[test]
fn serve_refuses_a_bad_store_name() {
    let output = Command::new(EXE).args(["serve", "--store", "nope"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown store"));
}

#[test]
fn load_prints_its_table() {
    let chart = std::env::temp_dir().join(format!("sessionlab-load-{}.svg", std::process::id()));
    let output = Command::new(EXE)
        .args([
            "load",
            "--store",
            "mutex,sharded",
            "--requests",
            "2000",
            "--max-time",
            "60s",
            "--timeout",
            "10s",
            "--chart",
        ])
        .arg(&chart)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for expected in ["req/s", "p99 µs", "lost", "resurrected", "wrongly expired", "sharded / mutex"]
    {
        assert!(stdout.contains(expected), "{expected} missing in\n{stdout}");
    }
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| matches!(line.split_whitespace().next(), Some("mutex" | "sharded")))
        .filter(|line| !line.contains("throughput"))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for row in rows {
        let columns: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(columns[1], "ok", "{row}");
        let requests: u64 = columns[2].parse().unwrap();
        assert!(requests >= 2000, "{row}");
        assert_eq!(&columns[7..11], ["0", "0", "0", "0"], "{row}");
    }
    let svg = std::fs::read_to_string(&chart).expect("load --chart writes the chart");
    std::fs::remove_file(&chart).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("mutex") && svg.contains("sharded"));
}

fn refused(args: &[&str]) -> String {
    let output = Command::new(EXE).args(args).output().unwrap();
    assert!(!output.status.success(), "{args:?} must be refused");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn serve_refuses_the_racy_store_off_loopback() {
    let stderr = refused(&["serve", "--store", "racy", "--addr", "0.0.0.0:0"]);
    assert!(stderr.contains("refusing to serve the racy store") && stderr.contains("loopback"));
}

#[test]
fn serve_refuses_a_sweep_interval_that_would_spin() {
    for every in ["1ms", "9ms"] {
        let stderr = refused(&["serve", "--addr", "127.0.0.1:0", "--sweep-every", every]);
        assert!(stderr.contains("is too short") && stderr.contains("at least 10ms"), "{stderr}");
    }
    // Zero is no duration at all: the parser refuses it before the server's floor does.
    let stderr = refused(&["serve", "--addr", "127.0.0.1:0", "--sweep-every", "0ms"]);
    assert!(stderr.contains("at least"), "{stderr}");
}

#[test]
fn load_does_not_call_a_target_that_died_ok() {
    let server = serve("mutex");
    let target = server.addr().to_string();
    let load = Command::new(EXE)
        .args(["load", "--target", &target, "--ttl", "1m", "--requests", "100000000"])
        .args(["--max-time", "30s", "--timeout", "5s"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    // The target dies mid-run: dropping the child kills it (SIGKILL), as a crash would.
    drop(server);
    let output = load.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    let row = stdout.lines().find(|line| line.starts_with(&target)).expect("a row");
    assert!(row.contains("gone") && !row.contains(" ok "), "{row}");
}

#[test]
fn load_spread_over_servers_that_do_not_share_a_store_finds_lost_sessions() {
    // Two in-memory servers each hold their own sessions: a flow whose login went to one and
    // whose first `me` goes to the other finds no session. The spread load must say so.
    let servers: Vec<ServerChild> = (0..2).map(|_| serve("sharded")).collect();
    let targets: Vec<String> = servers.iter().map(|server| server.addr().to_string()).collect();
    let output = Command::new(EXE)
        .args(["load", "--target", &targets.join(","), "--ttl", "1m", "--requests", "300"])
        .args(["--max-time", "60s", "--timeout", "10s"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains(&format!("spread over 2 servers: {}", targets.join(", "))), "{stdout}");
    let lost: u64 = stdout
        .split("lost ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no lost count in\n{stdout}"));
    assert!(lost > 0, "{stdout}");
    for server in servers {
        let (fate, stderr) = server.finish(None);
        assert_eq!(fate, ServerFate::Fine, "{stderr}");
    }
}

#[test]
fn load_refuses_a_spread_target_where_nothing_listens() {
    let server = serve("sharded");
    let live = server.addr().to_string();
    // Port 1 on loopback: nothing listens there.
    let stderr = refused(&["load", "--target", &live, "--target", "127.0.0.1:1"]);
    assert!(stderr.contains("127.0.0.1:1") && stderr.contains("cannot connect"), "{stderr}");
    let (fate, stderr) = server.finish(None);
    assert_eq!(fate, ServerFate::Fine, "{stderr}");
}
