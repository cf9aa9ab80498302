//! A headless Chromium for browser tests, driven by fantoccini over
//! chromedriver's W3C WebDriver API (Debian's `chromium` and
//! `chromium-driver`, installed by `scripts/setup.sh --test`). On top of
//! fantoccini: starting chromedriver and the browser, and the waits the
//! tests share (for an element, for a text, for a click that lands on a
//! page that redraws).
//!
//! Each `Browser` has its own chromedriver on a free port and its own
//! profile folder; dropping it kills chromedriver and the browser with it.

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use fantoccini::Locator;
use serde_json::{Value, json};

/// The window every test gets, so screenshots have a known size.
pub const WINDOW: (u32, u32) = (1280, 900);

pub struct Browser {
    client: fantoccini::Client,
    driver: Child,
    stopped: bool,
    /// The browser's profile, kept while it runs and deleted with it.
    _profile: tempfile::TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    element: fantoccini::elements::Element,
    _page: std::marker::PhantomData<&'a Browser>,
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
        let mut driver = Command::new(&driver_binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // A group of its own, so the browser it starts dies with it.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {driver_binary}"))?;
        let profile = tempfile::tempdir()?;
        let base = format!("http://127.0.0.1:{port}");
        if let Err(e) = wait_until_ready(&mut driver, &base).await {
            kill_group(&mut driver);
            return Err(e);
        }
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
            format!("--user-data-dir={}", profile.path().display()),
            format!("--window-size={},{}", WINDOW.0, WINDOW.1),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({"binary": chromium, "args": args}),
        );
        // chromedriver is on the loopback: plain HTTP, no TLS built.
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match fantoccini::ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&base)
            .await
        {
            Ok(client) => client,
            Err(e) => {
                kill_group(&mut driver);
                return Err(anyhow::Error::new(e)
                    .context("chromedriver could not start a Chromium session"));
            }
        };
        Ok(Self {
            client,
            driver,
            stopped: false,
            _profile: profile,
        })
    }

    /// Opens `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.client
            .goto(url)
            .await
            .with_context(|| format!("opening {url}"))
    }

    /// Every element matching a CSS selector, in document order.
    pub async fn find_all(&self, css: &str) -> anyhow::Result<Vec<Element<'_>>> {
        Ok(self
            .client
            .find_all(Locator::Css(css))
            .await
            .with_context(|| format!("finding `{css}`"))?
            .into_iter()
            .map(|element| Element {
                element,
                _page: std::marker::PhantomData,
            })
            .collect())
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
        self.client
            .execute(script, args)
            .await
            .context("running a script in the page")
    }

    /// A PNG of the viewport.
    pub async fn screenshot(&self) -> anyhow::Result<Vec<u8>> {
        self.client
            .screenshot()
            .await
            .context("taking a screenshot")
    }

    /// Ends the session, which closes the browser, then stops chromedriver.
    pub async fn quit(mut self) -> anyhow::Result<()> {
        let closed = self.client.clone().close().await;
        self.stop();
        closed.context("ending the browser session")
    }

    fn stop(&mut self) {
        if !std::mem::replace(&mut self.stopped, true) {
            kill_group(&mut self.driver);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for chromedriver to answer that it is ready.
async fn wait_until_ready(driver: &mut Child, base: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = driver.try_wait()? {
            bail!("chromedriver exited at start: {status}");
        }
        if let Ok(r) = http.get(format!("{base}/status")).send().await
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

/// Kills the whole process group: chromedriver and the Chromium it started.
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.kill();
    let _ = driver.wait();
}

impl Element<'_> {
    pub async fn click(&self) -> anyhow::Result<()> {
        self.element.click().await.context("clicking")
    }

    /// Types `text` into the element.
    pub async fn send_keys(&self, text: &str) -> anyhow::Result<()> {
        self.element.send_keys(text).await.context("typing")
    }

    /// The element's rendered text.
    pub async fn text(&self) -> anyhow::Result<String> {
        self.element.text().await.context("reading text")
    }

    /// An attribute's value, if the element has it.
    pub async fn attribute(&self, name: &str) -> anyhow::Result<Option<String>> {
        self.element
            .attr(name)
            .await
            .with_context(|| format!("reading the `{name}` attribute"))
    }

    /// The element's box in CSS pixels: x, y, width, height.
    pub async fn rect(&self) -> anyhow::Result<(f64, f64, f64, f64)> {
        self.element.rectangle().await.context("reading its box")
    }
}
