//! The HTML the app answers a browser with: one page that teaches, and friendly error pages.
//!
//! The page works without JavaScript (plain forms, answered with a redirect back to it); a
//! few lines of script add a live view of the server's counters when scripts run. Everything
//! that comes from a client (a user name) is HTML-escaped.

use std::fmt::Write;
use std::time::Duration;

/// What the start page shows.
pub struct Home<'a> {
    /// The logged-in user's name, if any.
    pub user: Option<&'a str>,
    /// The session id, redacted (the whole id never appears in a page or a log).
    pub session: Option<String>,
    /// A line about the request (e.g. why a cookie was refused).
    pub notice: Option<String>,
    /// The store the server runs.
    pub store: &'a str,
    /// The session ttl.
    pub ttl: Duration,
    /// How often the sweeper runs.
    pub sweep_every: Duration,
    /// Sessions in the store (`None`: the store could not say).
    pub sessions: Option<usize>,
    /// Sweeps so far.
    pub sweeps: u64,
    /// Sessions those sweeps removed.
    pub swept: u64,
    /// Requests served so far.
    pub requests: u64,
    /// Whether the server runs TLS.
    pub secure: bool,
    /// The session cookie's name.
    pub cookie_name: &'a str,
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped, for HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#222}\
h1{font-size:1.6rem}h2{font-size:1.15rem;margin-top:2rem}\
.box{border:1px solid #ccc;border-radius:8px;padding:1rem;background:#fafafa}\
.in{border-color:#2a7;background:#effaf3}.out{border-color:#c93;background:#fff8ec}\
.err{border-color:#c33;background:#fdeeee}\
dt{font-weight:600;font-family:monospace}dd{margin:0 0 .6rem 1.2rem}\
code{background:#eee;padding:0 .25rem;border-radius:3px}\
table{border-collapse:collapse}td{padding:.1rem .8rem .1rem 0}\
form{display:inline-block;margin:.4rem 1rem .4rem 0}button{font-size:1rem}";

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head>\n<body>\n{body}\n</body>\n</html>\n",
        title = escape(title)
    )
}

/// The start page.
pub fn home(view: &Home<'_>) -> String {
    let mut body = String::from("<h1>sessionlab: a cookie, a session, a shared map</h1>\n");
    match view.user {
        Some(user) => {
            let _ = writeln!(
                body,
                "<div class=\"box in\" id=\"state\"><p><strong>You are logged in as <span id=\"user\">{}</span>.</strong> \
Your browser sent the cookie <code>{}</code>, whose value is your session id <code>{}</code> (shown redacted: \
whoever has the whole id <em>is</em> you until it expires or you log out).</p>\
<form method=\"post\" action=\"/logout\"><button id=\"logout\">log out</button></form>\
<form method=\"post\" action=\"/login\"><label>switch user <input name=\"user\" maxlength=\"64\" required></label> \
<button>log in</button></form></div>",
                escape(user),
                escape(view.cookie_name),
                escape(view.session.as_deref().unwrap_or("?")),
            );
        }
        None => {
            body.push_str(
                "<div class=\"box out\" id=\"state\"><p><strong>You are not logged in.</strong></p>\
<form method=\"post\" action=\"/login\"><label>user name <input id=\"name\" name=\"user\" maxlength=\"64\" required autofocus></label> \
<button id=\"login\">log in</button></form></div>\n",
            );
        }
    }
    if let Some(notice) = &view.notice {
        let _ = writeln!(body, "<p class=\"box err\" id=\"notice\">{}</p>", escape(notice));
    }
    let sessions = view.sessions.map_or_else(|| "unknown".to_owned(), |n| n.to_string());
    let _ = write!(
        body,
        "<h2>This server</h2>\n<table>\
<tr><td>store</td><td><code>{store}</code></td></tr>\
<tr><td>session ttl</td><td>{ttl:?} idle (then the session expires)</td></tr>\
<tr><td>sweeper</td><td>every {sweep:?}</td></tr>\
<tr><td>sessions now</td><td id=\"sessions\">{sessions}</td></tr>\
<tr><td>sweeps so far</td><td id=\"sweeps\">{sweeps} (removed {swept} idle sessions)</td></tr>\
<tr><td>requests served</td><td id=\"requests\">{requests}</td></tr>\
<tr><td>requests/s</td><td><span id=\"rate\">…</span><noscript>(the live view needs JavaScript; reload for fresh counts)</noscript></td></tr>\
</table>\n<svg id=\"chart\" width=\"480\" height=\"80\" role=\"img\" aria-label=\"requests per second, last minute\" \
style=\"border:1px solid #ccc;background:#fff\"><polyline fill=\"none\" stroke=\"#27a\" stroke-width=\"2\" points=\"\"/></svg>\n",
        store = escape(view.store),
        ttl = view.ttl,
        sweep = view.sweep_every,
        sweeps = view.sweeps,
        swept = view.swept,
        requests = view.requests,
    );
    let secure = if view.secure {
        "<dt>Secure</dt><dd>Sent only over HTTPS (browsers make one exception: <code>localhost</code> and \
loopback addresses count as secure, so Chromium sends it to <code>http://127.0.0.1</code> too). \
TLS hides the id on the wire; it does nothing about a cookie stolen from the browser itself.</dd>\
<dt>__Host- prefix</dt><dd>The browser accepts a cookie named <code>__Host-…</code> only if it is Secure, has \
<code>Path=/</code> and no <code>Domain</code>: no sibling subdomain and nothing over plain HTTP can plant \
or overwrite it.</dd><dt>Strict-Transport-Security</dt><dd>Not a cookie attribute but a header: for the next \
hour this browser will use only HTTPS for this host.</dd>"
    } else {
        "<dt>Secure (absent here)</dt><dd>This server speaks plain HTTP, so the cookie cannot be Secure; \
start it with <code>--tls</code> to see the Secure flag, the <code>__Host-</code> prefix and HSTS.</dd>"
    };
    let _ = write!(
        body,
        "<h2>The cookie, attribute by attribute</h2>\n<p>Open your browser's developer tools \
(F12, or right-click &gt; Inspect), then <strong>Application &gt; Cookies</strong> (Firefox: \
<strong>Storage &gt; Cookies</strong>) and pick this site: you will see the cookie \
<code>{name}</code> with these attributes. The Network tab shows the <code>Set-Cookie</code> header \
on each answer.</p>\n<dl>\
<dt>HttpOnly</dt><dd>Page scripts cannot read it: <code>document.cookie</code> is empty here, so a \
script injected into the page cannot steal the id.</dd>\
<dt>SameSite=Lax</dt><dd>Another site's form that posts here arrives without the cookie (and this \
server also refuses any POST whose <code>Origin</code>/<code>Sec-Fetch-Site</code> says it came from \
elsewhere: that stops a forged <em>login</em>, which needs no cookie).</dd>\
<dt>Path=/</dt><dd>One cookie for the whole site.</dd>\
<dt>Max-Age</dt><dd>The browser forgets it after the ttl; each request renews it, as the server renews \
the session. Cookies ignore ports: two servers on one host share it.</dd>{secure}</dl>\n\
<h2>What happens when you click</h2>\n<ol><li><strong>log in</strong>: the server makes a random \
session id, stores <em>id &rarr; you</em> in the shared map, and answers <code>303 See Other</code> \
with <code>Set-Cookie</code>; your browser then loads this page (so reloading never re-posts the \
form).</li><li><strong>every request</strong>: the browser sends the cookie; the server looks the id \
up and renews it. Many requests at once touch the same map: that is why the store needs \
coordination (the racy store has none, and crashes under load).</li><li><strong>log out</strong>: \
the session is removed from the map, and the cookie is cleared. The page is sent with \
<code>Cache-Control: no-store</code>, so the Back button cannot show you a logged-in page from the \
cache.</li></ol>\n<p><a href=\"/me\">/me</a> answers the same question as plain text, for \
<code>curl</code>.</p>\n<script>\n{LIVE}</script>\n",
        name = escape(view.cookie_name),
    );
    document("sessionlab", &body)
}

/// The live view: polls `/stats` every second and draws requests/s for the last minute.
const LIVE: &str = r#"(function () {
  var points = [], last = null;
  function tick() {
    fetch('/stats', {cache: 'no-store'}).then(function (r) { return r.json(); }).then(function (s) {
      var now = performance.now();
      if (last) {
        var rate = (s.requests - last.requests - 1) / ((now - last.at) / 1000);
        points.push(Math.max(0, rate));
        if (points.length > 60) points.shift();
        document.getElementById('rate').textContent = Math.round(Math.max(0, rate));
      }
      last = {requests: s.requests, at: now};
      document.getElementById('sessions').textContent = s.sessions;
      document.getElementById('sweeps').textContent = s.sweeps + ' (removed ' + s.swept + ' idle sessions)';
      document.getElementById('requests').textContent = s.requests;
      var top = Math.max(10, Math.max.apply(null, points));
      document.querySelector('#chart polyline').setAttribute('points', points.map(function (p, i) {
        return (i * 8) + ',' + (78 - 74 * p / top).toFixed(1);
      }).join(' '));
    }).catch(function () {});
  }
  tick();
  setInterval(tick, 1000);
})();
"#;

/// A friendly error page: what went wrong, what to do, and the way back.
pub fn error(title: &str, detail: &str, hint: &str) -> String {
    let body = format!(
        "<h1>{title}</h1>\n<div class=\"box err\" id=\"error\"><p>{detail}</p><p>{hint}</p></div>\n\
<p><a id=\"back\" href=\"/\">&larr; back to the start page</a></p>",
        title = escape(title),
        detail = escape(detail),
        hint = escape(hint),
    );
    document(title, &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(user: Option<&str>) -> Home<'_> {
        Home {
            user,
            session: Some("6f1c9a52-…".into()),
            notice: None,
            store: "mutex",
            ttl: Duration::from_secs(60),
            sweep_every: Duration::from_secs(6),
            sessions: Some(3),
            sweeps: 2,
            swept: 1,
            requests: 10,
            secure: false,
            cookie_name: "session",
        }
    }

    #[test]
    fn names_are_escaped() {
        assert_eq!(escape("<b a=\"x\">&'"), "&lt;b a=&quot;x&quot;&gt;&amp;&#39;");
        let page = home(&view(Some("<script>alert(1)</script>")));
        assert!(!page.contains("<script>alert"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)"));
        assert!(error("<x>", "a & b", "c").contains("&lt;x&gt;"));
    }

    #[test]
    fn the_page_says_who_and_what() {
        let page = home(&view(Some("alice")));
        for needle in [
            "logged in as <span id=\"user\">alice</span>",
            "mutex",
            "60s",
            "6f1c9a52-…",
            "Application &gt; Cookies",
            "HttpOnly",
        ] {
            assert!(page.contains(needle), "{needle}");
        }
        let page = home(&view(None));
        assert!(page.contains("not logged in") && page.contains("action=\"/login\""));
        assert!(error("Not logged in", "x", "y").contains("href=\"/\""));
    }
}
