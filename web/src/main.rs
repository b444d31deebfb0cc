//! `sessionlab-web`: serve the lesson's app over any store, or load it and report.

use clap::{Args, Parser, Subcommand};
use sessionlab::StoreKind;
use sessionlab::time::Clock;
use sessionlab::time::{format_duration, parse_duration};
use sessionlab_web::chart::{self, Bar};
use sessionlab_web::client::Client;
use sessionlab_web::load::{self, LoadConfig, LoadReport};
use sessionlab_web::remote::{self, RedisSetup, StoreChoice};
use sessionlab_web::server::{self, RunningServer, ServeConfig};
use sessionlab_web::spread;
use sessionlab_web::supervise::{LISTENING, ServerChild, ServerFate};
use sessionlab_web::{connections, tls};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "sessionlab-web",
    version,
    about = "The Go lesson's cookie-session web app, over any sessionlab store"
)]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Serve the app: POST /login (form user=<name>), GET /me, POST /logout.
    Serve(ServeArgs),
    /// Start a server per store in a child process, run login -> k x me -> logout flows
    /// against it over loopback, and print a table.
    Load(LoadArgs),
}

#[derive(Args)]
struct ServeArgs {
    /// The store (mutex, rwlock, sharded, cow, racy, ...), or redis (with --redis-url).
    #[arg(long, default_value = "mutex", value_parser = StoreChoice::parse)]
    store: StoreChoice,
    /// With --store redis: the server (redis://host:port/db) or cluster
    /// (redis+cluster://host:port,host:port) every serve process shares.
    #[arg(long)]
    redis_url: Option<String>,
    /// With --store redis: the sessions' key prefix (no braces).
    #[arg(long, default_value = sessionlab_redis::DEFAULT_PREFIX)]
    redis_prefix: String,
    /// With --store redis: the shared user directory's key prefix.
    #[arg(long, default_value = sessionlab_redis::DEFAULT_USERS_PREFIX)]
    redis_users_prefix: String,
    /// Added to this machine's clock in ms (tests: a skewed machine). Hidden.
    #[arg(long, hide = true, default_value_t = 0, allow_negative_numbers = true)]
    clock_offset_ms: i64,
    /// How long an idle session lives (also the cookie's Max-Age).
    #[arg(long, default_value = "30m", value_parser = parse_duration)]
    ttl: Duration,
    /// Where to listen. Loopback by default: expose it deliberately, and then with --tls.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Serve HTTPS; without --cert/--key, with a self-signed certificate made at start.
    #[arg(long)]
    tls: bool,
    /// PEM certificate chain (implies --tls).
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key (implies --tls).
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// Write the generated self-signed certificate here (for curl --cacert).
    #[arg(long)]
    save_cert: Option<PathBuf>,
    /// How often a logout may trigger a sweep, and how often the background sweeper runs
    /// [default: a tenth of the ttl, 10ms..30s].
    #[arg(long, value_parser = parse_duration)]
    sweep_every: Option<Duration>,
    /// Runtime worker threads [default: one per core].
    #[arg(long)]
    workers: Option<usize>,
    /// Log every login and logout (session ids redacted, names escaped).
    #[arg(long)]
    verbose: bool,
    /// The most sessions the server holds; further logins get 503 with Retry-After. With
    /// --store redis: the sessions of every server sharing it (give each the same value).
    #[arg(long, default_value_t = 100_000)]
    max_sessions: usize,
    /// The most sessions one user holds; a further login ends that user's oldest. Not with
    /// --store redis (its shared user directory keeps no session lists).
    #[arg(long, default_value_t = 10)]
    max_sessions_per_user: usize,
    /// The most user names registered at once (names with no live session are freed).
    #[arg(long, default_value_t = 100_000)]
    max_users: usize,
    /// The most connections open at once; more wait in the kernel's backlog.
    #[arg(long, default_value_t = 1024)]
    max_connections: usize,
    /// How long a client may take to send a request head, or sit idle between requests.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_timeout: Duration,
    /// How long a request may take from its head to its answer, body included (408 after).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    request_timeout: Duration,
}

#[derive(Args)]
struct LoadArgs {
    /// Stores to load, comma-separated, or "all" or "correct".
    #[arg(long, default_value = "all")]
    store: String,
    /// Load a server that is already running here instead (loopback only). Repeat it (or give
    /// a comma-separated list) to spread every flow over several servers that share one store,
    /// e.g. three `serve --store redis` processes: each request of a flow goes to the next.
    #[arg(long, conflicts_with = "store", value_delimiter = ',')]
    target: Vec<SocketAddr>,
    /// Client threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Requests per store (about).
    #[arg(long, default_value_t = 100_000)]
    requests: u64,
    /// `me` requests per flow.
    #[arg(long, default_value_t = 8)]
    touches: usize,
    /// Every n-th flow abandons its session instead of logging out (0: never).
    #[arg(long, default_value_t = 10)]
    abandon_every: u64,
    /// The servers' ttl (with --target: the running server's).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    ttl: Duration,
    /// Stop each run after this long in any case.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    max_time: Duration,
    /// A request unanswered this long means the server hung.
    #[arg(long, default_value = "3s", value_parser = parse_duration)]
    timeout: Duration,
    /// Worker threads of each child server [default: one per core].
    #[arg(long)]
    server_workers: Option<usize>,
    /// Also draw the results (requests/s, p50/p99 per store) as an SVG chart here.
    #[arg(long)]
    chart: Option<PathBuf>,
}

fn parse_store(name: &str) -> Result<StoreKind, String> {
    name.parse().map_err(|error: sessionlab::stores::UnknownStore| error.to_string())
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Mode::Serve(args) => serve(args),
        Mode::Load(args) => run_load(&args),
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let mut config = ServeConfig::new(args.addr, args.ttl);
    if let Some(every) = args.sweep_every {
        config.sweep_every = every;
    }
    if let Some(workers) = args.workers {
        config.workers = workers;
    }
    config.verbose = args.verbose;
    config.max_sessions = args.max_sessions;
    config.max_sessions_per_user = args.max_sessions_per_user;
    config.max_users = args.max_users;
    let limit = connections::descriptor_limit();
    config.connections.max_connections =
        connections::fit_to_descriptors(args.max_connections, limit);
    if config.connections.max_connections < args.max_connections {
        eprintln!(
            "note: at most {} connections at once, not {}: the descriptor limit (ulimit -n) is {}",
            config.connections.max_connections,
            args.max_connections,
            limit.unwrap_or(0)
        );
    }
    config.connections.header_timeout = args.header_timeout;
    config.request_timeout = args.request_timeout;
    if let Err(error) = config.check() {
        return fail(&error.to_string());
    }
    if args.tls || args.cert.is_some() {
        let identity = match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => tls::from_pem_files(cert, key),
            _ => tls::self_signed(),
        };
        let identity = match identity {
            Ok(identity) => identity,
            Err(error) => return fail(&format!("TLS: {error}")),
        };
        if let Some(path) = &args.save_cert
            && let Err(error) = std::fs::write(path, &identity.cert_pem)
        {
            return fail(&format!("cannot write {}: {error}", path.display()));
        }
        match tls::server_config(identity) {
            Ok(tls) => config.tls = Some(tls),
            Err(error) => return fail(&format!("TLS: {error}")),
        }
    }
    if let StoreChoice::Memory(kind) = args.store
        && !kind.is_correct()
    {
        eprintln!(
            "warning: the {kind} store is wrong on purpose; concurrent requests may lose sessions, hang or crash this server"
        );
    }
    let clock = Clock::start();
    let backend = match (args.store, &args.redis_url) {
        (StoreChoice::Memory(kind), None) => {
            match server::in_memory_backend(kind, &config, clock) {
                Ok(backend) => backend,
                Err(error) => return fail(&error.to_string()),
            }
        }
        (StoreChoice::Redis, Some(url)) => {
            let mut setup = RedisSetup::new(url);
            setup.options.prefix.clone_from(&args.redis_prefix);
            setup.users_prefix.clone_from(&args.redis_users_prefix);
            setup.clock_offset_ms = args.clock_offset_ms;
            match remote::redis_backend(&setup, config.ttl, clock.now()) {
                Ok(backend) => backend,
                Err(error) => {
                    return fail(&format!("redis at {}: {error}", remote::redacted_url(url)));
                }
            }
        }
        _ => return fail("--store redis and --redis-url go together"),
    };
    let server = match RunningServer::start(&config, backend, clock) {
        Ok(server) => server,
        Err(error) => return fail(&format!("cannot serve on {}: {error}", args.addr)),
    };
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    // The first line is read by `load` to find the port; keep its shape.
    println!(
        "{LISTENING}{scheme}://{} (store {}, ttl {}, sweep every {})",
        server.addr(),
        args.store,
        format_duration(config.ttl),
        format_duration(config.sweep_every),
    );
    let _ = std::io::stdout().flush();
    match server.wait() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&format!("server failed: {error}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("sessionlab-web: {message}");
    ExitCode::FAILURE
}

fn stores(list: &str) -> Result<Vec<StoreKind>, String> {
    match list {
        "all" => Ok(StoreKind::ALL.to_vec()),
        "correct" => Ok(StoreKind::correct().collect()),
        _ => list.split(',').map(|name| parse_store(name.trim())).collect(),
    }
}

/// One row of the table.
struct Row {
    name: String,
    fate: ServerFate,
    report: Option<LoadReport>,
    server_cpu: Option<Duration>,
}

fn run_load(args: &LoadArgs) -> ExitCode {
    let config = LoadConfig {
        threads: args.threads,
        requests: args.requests,
        touches: args.touches,
        max_time: args.max_time,
        ttl: args.ttl,
        abandon_every: args.abandon_every,
        io_timeout: args.timeout,
    };
    println!(
        "load: {} client threads, ~{} requests per store, flows of login -> {} x me -> logout -> me, ttl {}",
        config.threads,
        config.requests,
        config.touches,
        format_duration(config.ttl)
    );
    if args.target.len() > 1 {
        return run_spread(&args.target, &config);
    }
    print_header();
    if let Some(&target) = args.target.first() {
        return match load::run(target, &config) {
            Ok(report) => {
                // Not our child: we cannot see how it ended, only whether it still answers.
                let fate = if Client::connect(target, config.io_timeout).is_ok() {
                    ServerFate::Fine
                } else {
                    ServerFate::Gone
                };
                let clean = report.is_clean() && fate == ServerFate::Fine;
                let name = target.to_string();
                print_row(&Row { name, fate, report: Some(report), server_cpu: None });
                if clean { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(error) => fail(&error.to_string()),
        };
    }
    let kinds = match stores(&args.store) {
        Ok(kinds) => kinds,
        Err(error) => return fail(&error),
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(error) => return fail(&format!("cannot find this program to start servers: {error}")),
    };
    let mut rows = Vec::new();
    let mut failed = false;
    for kind in kinds {
        let mut command = Command::new(&exe);
        command.args(["serve", "--store", kind.name(), "--addr", "127.0.0.1:0", "--ttl"]);
        command.arg(format_duration(config.ttl));
        if let Some(workers) = args.server_workers {
            command.args(["--workers", &workers.to_string()]);
        }
        let (row, stderr, error) = load_child(kind, command, &config);
        print_row(&row);
        let clean =
            row.fate == ServerFate::Fine && row.report.as_ref().is_some_and(LoadReport::is_clean);
        if !clean {
            if let Some(error) = error {
                println!("         first client error: {error}");
            }
            if let Some(line) = stderr
                .lines()
                .map(str::trim)
                .rfind(|line| !line.is_empty() && !line.starts_with("warning:"))
            {
                println!("         server's last words: {line}");
            }
        }
        failed |= kind.is_correct() && !clean;
        rows.push((kind, row));
    }
    let throughput = |wanted: StoreKind| {
        rows.iter()
            .find(|(kind, _)| *kind == wanted)
            .and_then(|(_, row)| row.report.as_ref())
            .map(LoadReport::throughput)
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "cpu µs/req: CPU time per request spent in the server + in the load client ({cores} cores shared by both)"
    );
    if let (Some(sharded), Some(mutex)) =
        (throughput(StoreKind::Sharded), throughput(StoreKind::Mutex))
    {
        println!("sharded / mutex throughput: {:.2}x", sharded / mutex);
    }
    if let Some(path) = &args.chart {
        let bars: Vec<Bar> = rows
            .iter()
            .filter_map(|(_, row)| {
                let report = row.report.as_ref()?;
                Some(Bar {
                    store: row.name.clone(),
                    throughput: report.throughput(),
                    p50: report.latency.value_at_quantile(0.5),
                    p99: report.latency.value_at_quantile(0.99),
                    clean: row.fate == ServerFate::Fine && report.is_clean(),
                })
            })
            .collect();
        match chart::write_svg(path, &bars) {
            Ok(()) => println!("chart: {}", path.display()),
            Err(error) => {
                return fail(&format!("cannot write the chart {}: {error}", path.display()));
            }
        }
    }
    if rows.iter().any(|(kind, _)| !kind.is_correct()) {
        println!(
            "(the racy store is wrong on purpose: whatever its row shows is the lesson's bug)"
        );
    }
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `load --target A --target B ...`: every flow spread over servers that share one store.
fn run_spread(targets: &[SocketAddr], config: &LoadConfig) -> ExitCode {
    let names: Vec<String> = targets.iter().map(SocketAddr::to_string).collect();
    println!("spread over {} servers: {}", targets.len(), names.join(", "));
    let (epoch, progress) = (AtomicU64::new(0), AtomicU64::new(0));
    match spread::run(targets, config, &epoch, &progress) {
        Ok(report) => {
            print!("{report}");
            if report.is_correct() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(error) => fail(&error.to_string()),
    }
}

/// Starts the server `command` for `kind`, loads it, and says how it went: the row, the
/// server's stderr, and the first client-side error.
fn load_child(
    kind: StoreKind,
    command: Command,
    config: &LoadConfig,
) -> (Row, String, Option<String>) {
    let name = kind.name().to_owned();
    let child = match ServerChild::spawn(command, Duration::from_secs(10)) {
        Ok(child) => child,
        Err(error) => {
            let fate = ServerFate::Exited { code: -1 };
            let row = Row { name, fate, report: None, server_cpu: None };
            return (row, String::new(), Some(error.to_string()));
        }
    };
    let cpu_before = child.cpu_time();
    let result = load::run(child.addr(), config);
    let server_cpu = cpu_before.zip(child.cpu_time()).and_then(|(a, b)| b.checked_sub(a));
    let silent_for = match &result {
        Ok(report) if report.timed_out => Some(config.io_timeout),
        _ => None,
    };
    let (fate, stderr) = child.finish(silent_for);
    // A dead child's threads are gone from /proc: no number beats a wrong one.
    let server_cpu =
        server_cpu.filter(|_| matches!(fate, ServerFate::Fine | ServerFate::Hung { .. }));
    match result {
        Ok(report) => {
            let error = report.first_transport_error.clone();
            (Row { name, fate, report: Some(report), server_cpu }, stderr, error)
        }
        Err(error) => {
            (Row { name, fate, report: None, server_cpu }, stderr, Some(error.to_string()))
        }
    }
}

fn print_header() {
    println!(
        "{:<8} {:<24} {:>9} {:>8} {:>8} {:>8} {:>8} {:>5} {:>11} {:>15} {:>6} {:>11}",
        "store",
        "server",
        "requests",
        "req/s",
        "p50 µs",
        "p99 µs",
        "max µs",
        "lost",
        "resurrected",
        "wrongly expired",
        "other",
        "cpu µs/req"
    );
}

/// `server+client` CPU µs per request, or `-` where a side cannot be read.
fn cpu_column(server: Option<Duration>, report: &LoadReport) -> String {
    let requests = report.requests.max(1) as f64;
    let per_request = |cpu: Option<Duration>| {
        cpu.map_or_else(
            || "-".to_owned(),
            |cpu| format!("{:.1}", cpu.as_secs_f64() * 1e6 / requests),
        )
    };
    format!("{}+{}", per_request(server), per_request(report.client_cpu))
}

fn print_row(row: &Row) {
    let fate = row.fate.to_string();
    match &row.report {
        Some(r) => println!(
            "{:<8} {:<24} {:>9} {:>8.0} {:>8} {:>8} {:>8} {:>5} {:>11} {:>15} {:>6} {:>11}",
            row.name,
            fate,
            r.requests,
            r.throughput(),
            r.latency.value_at_quantile(0.5),
            r.latency.value_at_quantile(0.99),
            r.latency.max(),
            r.lost,
            r.resurrected,
            r.wrongly_expired,
            r.wrong_user + r.unexpected + r.transport_errors,
            cpu_column(row.server_cpu, r),
        ),
        None => println!("{:<8} {:<24} (no load run)", row.name, fate),
    }
}
