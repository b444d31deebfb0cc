//! The app in a real browser: Debian's headless Chromium, driven through chromedriver with
//! fantoccini, as a person would use it: type a name and click, read the cookie and its
//! attributes from the browser, reload, log out, press Back, tamper with the cookie, post a
//! form from another site, and log in over TLS. Screenshots go to `target/browser/`.
//!
//! Needs `chromium` and `chromedriver` (Debian: `apt-get install chromium chromium-driver`;
//! `CHROMIUM` and `CHROMEDRIVER` override the paths; set empty, they count as absent). Where they
//! are absent the test says so on the terminal and checks nothing; where they are present it
//! runs, and fails on any wrong step.

mod common;

use common::{loopback, start_with};
use fantoccini::cookies::Cookie;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use sessionlab::time::Clock;
use sessionlab::{SessionId, StoreKind};
use sessionlab_web::server::{self, RunningServer, ServeConfig};
use sessionlab_web::tls;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Failure = Box<dyn std::error::Error + Send + Sync>;

/// The path in the environment variable `var`, or the first of `candidates` that exists.
fn find_binary(var: &str, candidates: &[&str]) -> Option<PathBuf> {
    // Set and empty: "not installed" (how to see what the test says on a machine without it).
    if let Some(path) = std::env::var_os(var) {
        return (!path.is_empty()).then(|| PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|path| path.exists())
}

/// chromedriver on a free loopback port, killed on drop.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(binary: &Path) -> Result<Self, Failure> {
        let port = TcpListener::bind(loopback())?.local_addr()?.port();
        let child = Command::new(binary)
            .args([format!("--port={port}"), "--allowed-ips=127.0.0.1".into()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let driver = Self { child, url: format!("http://127.0.0.1:{port}") };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if Instant::now() > deadline {
                return Err("chromedriver did not listen within 20 s".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(driver)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn screenshots() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    target.join("browser")
}

async fn snap(browser: &Client, name: &str) -> Result<(), Failure> {
    let dir = screenshots();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join(format!("{name}.png")), browser.screenshot().await?)?;
    Ok(())
}

async fn connect(driver: &Driver, chromium: &Path, profile: &Path) -> Result<Client, Failure> {
    let args = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1000,1400",
    ]
    .iter()
    .map(|arg| (*arg).to_owned())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect::<Vec<_>>();
    let capabilities = serde_json::json!({
        "goog:chromeOptions": { "binary": chromium, "args": args },
        // The TLS server's certificate is self-signed: a person would click through the
        // warning; the test tells the browser to accept it.
        "acceptInsecureCerts": true,
    });
    let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await?;
    Ok(client)
}

async fn session_cookie(browser: &Client, name: &str) -> Result<Option<Cookie<'static>>, Failure> {
    Ok(browser.get_all_cookies().await?.into_iter().find(|cookie| cookie.name() == name))
}

async fn page_text(browser: &Client) -> Result<String, Failure> {
    Ok(browser.find(Locator::Css("body")).await?.text().await?)
}

async fn log_in(browser: &Client, name: &str) -> Result<(), Failure> {
    browser.find(Locator::Id("name")).await?.send_keys(name).await?;
    browser.find(Locator::Id("login")).await?.click().await?;
    let user =
        browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("user")).await?;
    assert_eq!(user.text().await?, name);
    Ok(())
}

async fn plain_http(browser: &Client, base: &str) -> Result<(), Failure> {
    browser.goto(&format!("{base}/")).await?;
    assert!(page_text(browser).await?.contains("You are not logged in."));
    snap(browser, "1-start").await?;

    // Type in the form and click.
    log_in(browser, "alice").await?;
    assert_eq!(browser.current_url().await?.path(), "/", "redirected after POST");
    let cookie = session_cookie(browser, "session").await?.ok_or("no session cookie")?;
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert_eq!(format!("{:?}", cookie.same_site()), "Some(Lax)", "{cookie:?}");
    assert_eq!(cookie.path(), Some("/"));
    assert_ne!(cookie.secure(), Some(true), "plain HTTP: no Secure flag");
    let id: SessionId = cookie.value().parse()?;
    let text = page_text(browser).await?;
    assert!(!text.contains(&id.to_string()), "the page shows the id redacted");
    assert!(text.contains("Application > Cookies"), "{text}");
    // HttpOnly: page scripts see nothing.
    let seen = browser.execute("return document.cookie", vec![]).await?;
    assert_eq!(seen, serde_json::json!(""), "document.cookie must be empty");
    // The live view (the page's only script) fills in requests/s within a couple of seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.find(Locator::Id("rate")).await?.text().await?.parse::<f64>().is_err() {
        assert!(Instant::now() < deadline, "the live view never showed a rate");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    snap(browser, "2-logged-in").await?;

    // Reload: still alice, and no form re-posted (a GET of /).
    browser.refresh().await?;
    assert_eq!(browser.find(Locator::Id("user")).await?.text().await?, "alice");

    // Log out, then Back: the previous page was alice's, but it is not served from the
    // cache (no-store) and the server no longer knows the session.
    browser.find(Locator::Id("logout")).await?.click().await?;
    browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("name")).await?;
    assert!(session_cookie(browser, "session").await?.is_none(), "logout clears the cookie");
    browser.back().await?;
    let text = page_text(browser).await?;
    assert!(!text.contains("alice") && text.contains("not logged in"), "Back showed: {text}");
    snap(browser, "3-back-after-logout").await?;

    // A tampered cookie, well-formed and not: refused and cleared.
    for value in [SessionId::generate().to_string(), "not-a-session-id".to_owned()] {
        // Set from the page (as a person would in the console): the real cookie is gone.
        let script = format!("document.cookie = 'session={value}; path=/'");
        browser.execute(&script, vec![]).await?;
        browser.goto(&format!("{base}/")).await?;
        let text = page_text(browser).await?;
        assert!(
            text.contains("has been cleared") && text.contains("not logged in"),
            "{value}: {text}"
        );
        assert!(session_cookie(browser, "session").await?.is_none(), "{value}: not cleared");
    }
    snap(browser, "4-tampered-cookie").await?;

    // A form on another site (an opaque data: origin) that posts a login here.
    let form = format!(
        "data:text/html,<form method=post action='{base}/login'><input name=user value=mallory></form><script>document.forms[0].submit()</script>"
    );
    browser.goto(&form).await?;
    browser.wait().at_most(Duration::from_secs(10)).for_element(Locator::Id("error")).await?;
    let text = page_text(browser).await?;
    assert!(text.contains("sent from another site"), "{text}");
    snap(browser, "5-cross-site-refused").await?;
    browser.goto(&format!("{base}/")).await?;
    assert!(page_text(browser).await?.contains("You are not logged in."), "mallory got in");
    Ok(())
}

async fn over_tls(browser: &Client, base: &str) -> Result<(), Failure> {
    browser.goto(&format!("{base}/")).await?;
    log_in(browser, "tess").await?;
    let cookie = session_cookie(browser, "__Host-session").await?.ok_or("no __Host- cookie")?;
    assert_eq!(cookie.secure(), Some(true), "{cookie:?}");
    assert_eq!(cookie.http_only(), Some(true), "{cookie:?}");
    assert!(page_text(browser).await?.contains("__Host- prefix"));
    snap(browser, "6-tls").await?;
    Ok(())
}

fn tls_server() -> Result<RunningServer, Failure> {
    let mut config = ServeConfig::new(loopback(), Duration::from_secs(300));
    config.tls = Some(tls::server_config(tls::self_signed()?)?);
    let clock = Clock::start();
    let backend = server::in_memory_backend(StoreKind::Sharded, &config, clock)?;
    Ok(RunningServer::start(&config, backend, clock)?)
}

#[test]
fn a_person_in_chromium() {
    let chromium = find_binary("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let chromedriver = find_binary("CHROMEDRIVER", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        // Straight to the terminal, past the test harness's capture: a passing test's output
        // is otherwise hidden, and this must not pass for a run.
        let _ = writeln!(
            std::io::stderr(),
            "browser test NOT RUN: chromium and chromedriver are not installed. Install them with \
             `apt-get install chromium chromium-driver` (or set CHROMIUM and CHROMEDRIVER)."
        );
        return;
    };
    let driver = Driver::start(&chromedriver).expect("chromedriver starts");
    let profile = std::env::temp_dir().join(format!("sessionlab-chromium-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&profile);
    let plain =
        start_with(StoreKind::Mutex, &ServeConfig::new(loopback(), Duration::from_secs(300)));
    let secure = tls_server().expect("the TLS server starts");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let outcome: Result<(), Failure> = runtime.block_on(async {
        let browser = connect(&driver, &chromium, &profile).await?;
        let steps = async {
            plain_http(&browser, &format!("http://{}", plain.addr())).await?;
            // localhost: the name the self-signed certificate is for.
            over_tls(&browser, &format!("https://localhost:{}", secure.addr().port())).await
        };
        let outcome = tokio::time::timeout(Duration::from_secs(120), steps).await;
        let _ = browser.close().await;
        outcome.map_err(|_| "the browser steps took over 120 s")?
    });
    let _ = std::fs::remove_dir_all(&profile);
    if let Err(error) = outcome {
        panic!("{error} (screenshots so far in {})", screenshots().display());
    }
}
