//! A headless Chromium for browser tests, driven through chromedriver's W3C
//! WebDriver HTTP API (Debian's `chromium` and `chromium-driver`, installed
//! by `scripts/setup.sh --test`). Only what the tests use: navigate, find
//! elements by CSS, type, click, read text, run a script, screenshot.
//!
//! Each `Browser` has its own chromedriver on a free port and its own
//! profile folder; dropping it kills chromedriver and the browser with it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

/// The W3C key of an element reference in WebDriver answers.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The window every test gets, so screenshots have a known size.
pub const WINDOW: (u32, u32) = (1280, 900);

pub struct Browser {
    http: reqwest::Client,
    /// `http://127.0.0.1:PORT/session/ID`
    session: String,
    driver: Child,
    stopped: bool,
    /// The browser's profile, deleted with it.
    profile: tempfile::TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl Browser {
    /// Starts chromedriver (`CHROMEDRIVER` overrides its path) and a
    /// headless Chromium session (`CHROMIUM` overrides the browser's path).
    pub async fn start() -> anyhow::Result<Self> {
        let driver_binary =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".into());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        for binary in [&driver_binary, &chromium] {
            anyhow::ensure!(
                std::path::Path::new(binary).exists(),
                "{binary} is missing: run `scripts/setup.sh --test` (make test does), which installs chromium and chromium-driver"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let driver = Command::new(&driver_binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own, so the browser it starts dies with it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {driver_binary}"))?;
        let profile = tempfile::tempdir()?;
        let mut browser = Self {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
            session: String::new(),
            driver,
            stopped: false,
            profile,
        };
        let base = format!("http://127.0.0.1:{port}");
        browser.wait_until_ready(&base).await?;
        let args = [
            "--headless".to_owned(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", browser.profile.path().display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let answer = browser
            .command(
                reqwest::Method::POST,
                &format!("{base}/session"),
                Some(capabilities),
            )
            .await
            .context("chromedriver could not start a Chromium session")?;
        let id = answer["sessionId"]
            .as_str()
            .with_context(|| format!("no session id in {answer}"))?;
        browser.session = format!("{base}/session/{id}");
        Ok(browser)
    }

    async fn wait_until_ready(&mut self, base: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.driver.try_wait()? {
                bail!("chromedriver exited at start: {status}");
            }
            if let Ok(r) = self.http.get(format!("{base}/status")).send().await
                && let Ok(status) = r.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One WebDriver call; answers its `value`, or its error as an error.
    async fn command(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method.clone(), url);
        // WebDriver wants a JSON body on every POST, even an empty one.
        if method == reqwest::Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {url}"))?;
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .with_context(|| format!("WebDriver {method} {url}: the answer is not JSON"))?;
        let value = answer.get("value").cloned().unwrap_or(Value::Null);
        if !status.is_success() {
            bail!(
                "WebDriver {method} {url}: {} ({})",
                value["message"].as_str().unwrap_or("no message"),
                value["error"].as_str().unwrap_or("unknown error")
            );
        }
        Ok(value)
    }

    async fn session_call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.command(method, &format!("{}{path}", self.session), body)
            .await
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.session_call(reqwest::Method::POST, "/url", Some(json!({"url": url})))
            .await?;
        Ok(())
    }

    /// Every element matching a CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element<'_>>> {
        let found = self
            .session_call(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        found
            .as_array()
            .with_context(|| format!("no list of elements in {found}"))?
            .iter()
            .map(|e| self.element(e))
            .collect()
    }

    /// The first element matching a CSS selector, once there is one.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> anyhow::Result<Element<'_>> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(first) = self.find_all(css).await?.into_iter().next() {
                return Ok(first);
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "no element matched `{css}` within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the text of the first element matching `css` satisfies
    /// `test`; answers that text.
    pub async fn wait_for_text(
        &self,
        css: &str,
        timeout: Duration,
        test: impl Fn(&str) -> bool,
    ) -> anyhow::Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last = None;
        loop {
            if let Some(element) = self.find_all(css).await?.into_iter().next() {
                // The page redraws as it polls: an element may go stale
                // between finding and reading it.
                if let Ok(text) = element.text().await {
                    if test(&text) {
                        return Ok(text);
                    }
                    last = Some(text);
                }
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "`{css}` did not show the expected text within {timeout:?}; last seen: {last:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Clicks the first element matching `css` once there is one. Pages
    /// that redraw replace their elements: a click on one that went stale
    /// is tried again on its successor.
    pub async fn click(&self, css: &str, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let element = self.wait_for(css, timeout).await?;
            match element.click().await {
                Ok(()) => return Ok(()),
                Err(_) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(e) => return Err(e.context(format!("clicking `{css}`"))),
            }
        }
    }

    /// Runs a synchronous script in the page; answers what it returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> anyhow::Result<Value> {
        self.session_call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        let encoded = self
            .session_call(reqwest::Method::GET, "/screenshot", None)
            .await?;
        let text = encoded
            .as_str()
            .with_context(|| format!("the screenshot is not base64 text: {encoded}"))?;
        Ok(base64::engine::general_purpose::STANDARD.decode(text)?)
    }

    /// Ends the session, which closes the browser, then stops chromedriver.
    pub async fn quit(mut self) -> anyhow::Result<()> {
        let closed = self.session_call(reqwest::Method::DELETE, "", None).await;
        self.stop();
        closed.map(|_| ())
    }

    /// Kills the whole process group: chromedriver and the Chromium it started.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    fn element(&self, reference: &Value) -> anyhow::Result<Element<'_>> {
        let id = reference[ELEMENT_KEY]
            .as_str()
            .with_context(|| format!("not an element reference: {reference}"))?;
        Ok(Element {
            browser: self,
            id: id.to_owned(),
        })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Element<'_> {
    async fn call(
        &self,
        method: reqwest::Method,
        what: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        self.browser
            .session_call(method, &format!("/element/{}{what}", self.id), body)
            .await
    }

    pub async fn click(&self) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/click", None).await?;
        Ok(())
    }

    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.call(reqwest::Method::POST, "/value", Some(json!({"text": text})))
            .await?;
        Ok(())
    }

    /// The element's rendered text.
    pub async fn text(&self) -> anyhow::Result<String> {
        let text = self.call(reqwest::Method::GET, "/text", None).await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// An attribute's value, if the element has it.
    pub async fn attribute(&self, name: &str) -> anyhow::Result<Option<String>> {
        let value = self
            .call(reqwest::Method::GET, &format!("/attribute/{name}"), None)
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// The element's box in CSS pixels: x, y, width, height.
    pub async fn rect(&self) -> anyhow::Result<(f64, f64, f64, f64)> {
        let r = self.call(reqwest::Method::GET, "/rect", None).await?;
        let get = |k: &str| r[k].as_f64().with_context(|| format!("no `{k}` in {r}"));
        Ok((get("x")?, get("y")?, get("width")?, get("height")?))
    }
}
