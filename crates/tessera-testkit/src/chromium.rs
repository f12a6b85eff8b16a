//! A real browser for the hosted pages' tests: Debian's headless Chromium, driven over
//! WebDriver by `chromedriver` (started by the test on a free port) with fantoccini.
//!
//! Each test starts its own browser with a fresh profile, so no cookie or cache crosses
//! tests. The browser's `Accept-Language` is set at start, as a user's browser would send it.
//!
//! Where the tests run:
//! - `TESSERA_TEST_CHROMEDRIVER` names the driver (default `/usr/bin/chromedriver`, Debian's
//!   `chromium-driver`), `TESSERA_TEST_CHROMIUM` the browser (default `/usr/bin/chromium`).
//! - Without a driver a browser test says so and passes, unless `TESSERA_TEST_REQUIRE_BROWSER=1`
//!   (set by `.ci/run`, which installs both packages): then it fails. A newcomer's
//!   `cargo test` does not need Chromium; CI never skips.
//! - Screenshots go to `TESSERA_TEST_SCREENSHOTS` (default: `tessera-screenshots/` in the
//!   system's temporary folder), one PNG per page a test names.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A headless Chromium with its chromedriver; both stop when it is dropped.
pub struct Chromium {
    client: Client,
    driver: Child,
    screenshots: PathBuf,
    _profile: tempfile::TempDir,
}

impl std::fmt::Debug for Chromium {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chromium")
            .field("screenshots", &self.screenshots)
            .finish_non_exhaustive()
    }
}

/// A setting from the environment (test support reads it; the product never does).
#[allow(clippy::disallowed_methods)]
fn setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Chromium {
    /// Starts a browser that prefers `accept_language` (e.g. `"de-DE,de;q=0.9"`). `None` when
    /// no chromedriver is installed and the environment does not require one.
    ///
    /// # Panics
    /// When the browser is required and cannot start.
    pub async fn start(accept_language: &str) -> Option<Self> {
        let driver_path = setting("TESSERA_TEST_CHROMEDRIVER")
            .unwrap_or_else(|| "/usr/bin/chromedriver".to_owned());
        let required = setting("TESSERA_TEST_REQUIRE_BROWSER").is_some_and(|v| v == "1");
        if !std::path::Path::new(&driver_path).exists() {
            assert!(
                !required,
                "TESSERA_TEST_REQUIRE_BROWSER=1 but there is no chromedriver at {driver_path} \
                 (install Debian's chromium and chromium-driver)"
            );
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "skipped: no chromedriver at {driver_path}; install chromium and \
                     chromium-driver, or set TESSERA_TEST_CHROMEDRIVER"
                );
            }
            return None;
        }
        let mut driver = Command::new(&driver_path)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start chromedriver");
        let port = driver_port(&mut driver).await;
        let profile = tempfile::tempdir().expect("a browser profile folder");
        let binary =
            setting("TESSERA_TEST_CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".to_owned());
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": binary,
                // The flags Debian's headless Chromium needs on a machine without a network
                // beyond loopback, running as root.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1000,900",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--lang={accept_language}"),
                ],
                "prefs": { "intl.accept_languages": accept_language },
            }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a Chromium session");
        let screenshots = setting("TESSERA_TEST_SCREENSHOTS")
            .map(PathBuf::from)
            .unwrap_or_else(|| std::env::temp_dir().join("tessera-screenshots"));
        std::fs::create_dir_all(&screenshots).expect("the screenshots folder");
        Some(Self {
            client,
            driver,
            screenshots,
            _profile: profile,
        })
    }

    /// The WebDriver session.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Opens `url` and waits for it to load.
    ///
    /// # Panics
    /// When the browser cannot go there.
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigate");
    }

    /// The address of the current page.
    ///
    /// # Panics
    /// When the browser does not answer.
    pub async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("the current URL")
    }

    /// The text of the element with this id.
    ///
    /// # Panics
    /// When the page has no such element (after a short wait for it).
    pub async fn text(&self, id: &str) -> String {
        self.element(id)
            .await
            .text()
            .await
            .expect("the element's text")
    }

    /// Whether the page has an element with this id (now, without waiting).
    pub async fn has(&self, id: &str) -> bool {
        self.client.find(Locator::Id(id)).await.is_ok()
    }

    /// How many elements the page has that match a CSS selector (now, without waiting).
    ///
    /// # Panics
    /// When the browser cannot be asked.
    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find elements")
            .len()
    }

    /// An attribute of the element with this id.
    ///
    /// # Panics
    /// When the page has no such element.
    pub async fn attribute(&self, id: &str, name: &str) -> Option<String> {
        self.element(id)
            .await
            .attr(name)
            .await
            .expect("the attribute")
    }

    /// Types `text` into the field with this id, replacing what it held.
    ///
    /// # Panics
    /// When the page has no such field.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.element(id).await;
        field.clear().await.expect("clear the field");
        field.send_keys(text).await.expect("type into the field");
    }

    /// Chooses the option with this `value` in the `<select>` with this id.
    ///
    /// # Panics
    /// When the page has no such list or it has no such option.
    pub async fn choose(&self, id: &str, value: &str) {
        self.element(id)
            .await
            .select_by_value(value)
            .await
            .expect("choose the option");
    }

    /// Clicks the element with this id and waits for the page it leads to.
    ///
    /// # Panics
    /// When the page has no such element.
    pub async fn click(&self, id: &str) {
        let old_page = self
            .client
            .find(Locator::Css("html"))
            .await
            .expect("an html element");
        self.element(id).await.click().await.expect("click");
        // A form post or a link loads a new document: wait until the old one is gone (its
        // element goes stale), then for the new one's body.
        for _ in 0..200 {
            if old_page.tag_name().await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css("body"))
            .await
            .expect("the next page");
    }

    /// The `lang` attribute of the page's `<html>`.
    ///
    /// # Panics
    /// When the page has none.
    pub async fn page_language(&self) -> String {
        self.client
            .find(Locator::Css("html"))
            .await
            .expect("an html element")
            .attr("lang")
            .await
            .expect("the attribute")
            .unwrap_or_default()
    }

    /// Resizes the browser's window, e.g. to a phone's 375 × 667.
    ///
    /// # Panics
    /// When the browser refuses.
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize the window");
    }

    /// Whether the page fits the window's width: nothing to scroll sideways.
    ///
    /// # Panics
    /// When the script cannot run.
    pub async fn fits_width(&self) -> bool {
        let fits = self
            .client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .expect("measure the page");
        fits.as_bool() == Some(true)
    }

    /// What axe-core (the accessibility engine of Deque's axe tools) finds wrong with the
    /// page against WCAG 2.2 levels A and AA: labels, names, contrast, language, landmarks,
    /// focus order. One line per rule broken: its id, impact and the elements. Empty when
    /// axe-core is not installed and the browser is not required (see the module docs).
    ///
    /// axe-core comes from npm: `npm ci` in `crates/tessera-testkit/a11y` (`.ci/run` does it),
    /// or `TESSERA_TEST_AXE` names `axe.min.js` elsewhere.
    ///
    /// # Panics
    /// When axe-core is missing but the browser is required, or the script fails.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = setting("TESSERA_TEST_AXE").map_or_else(
            || {
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("a11y/node_modules/axe-core/axe.min.js")
            },
            PathBuf::from,
        );
        let Ok(axe) = std::fs::read_to_string(&path) else {
            let required = setting("TESSERA_TEST_REQUIRE_BROWSER").is_some_and(|v| v == "1");
            assert!(
                !required,
                "no axe-core at {} (run `npm ci` in crates/tessera-testkit/a11y)",
                path.display()
            );
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "accessibility not checked: no axe-core at {}",
                    path.display()
                );
            }
            return Vec::new();
        };
        // WebDriver runs the script as a function body and waits for the promise it returns.
        let script = format!(
            "{axe}\nreturn axe.run(document, {{ runOnly: {{ type: 'tag', values: \
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] }} }})\
             .then(r => r.violations.map(v => v.id + ' (' + v.impact + '): ' + \
             v.nodes.map(n => n.target.join(' ')).join(', ')));"
        );
        let found = self
            .client
            .execute(&script, vec![])
            .await
            .expect("axe-core runs");
        serde_json::from_value(found).expect("a list of violations")
    }

    /// Saves a PNG of the page as `<name>.png` in the screenshots folder; returns its path.
    ///
    /// # Panics
    /// When the screenshot cannot be taken or written.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = self.screenshots.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }

    async fn element(&self, id: &str) -> fantoccini::elements::Element {
        match self
            .client
            .wait()
            .at_most(Duration::from_secs(5))
            .for_element(Locator::Id(id))
            .await
        {
            Ok(element) => element,
            Err(error) => panic!("no element #{id} on {}: {error}", self.url().await),
        }
    }

    /// Ends the session and stops the driver.
    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill().await;
    }
}

/// chromedriver prints "ChromeDriver was started successfully on port N." once it listens.
async fn driver_port(driver: &mut Child) -> u16 {
    let stdout = driver.stdout.take().expect("chromedriver's output");
    let mut lines = BufReader::new(stdout).lines();
    let find = async {
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(rest) = line.split("started successfully on port ").nth(1)
                && let Ok(port) = rest.trim_end_matches('.').trim().parse()
            {
                return Some(port);
            }
        }
        None
    };
    let port = tokio::time::timeout(Duration::from_secs(20), find)
        .await
        .ok()
        .flatten()
        .expect("chromedriver reports its port");
    // Keep draining its output so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    port
}
