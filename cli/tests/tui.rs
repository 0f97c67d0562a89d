//! `rustbill-cli tui` in a real terminal: tmux runs it, `send-keys` types,
//! `capture-pane` reads the screen. The test switches tabs, opens and
//! closes a detail, disables and re-enables a plugin interface, answers
//! the delete question both ways, and quits; the database and the restored
//! terminal are checked, not only the screen.

mod support;

use std::time::Duration;

use rustbill_shared::testkit::wait_for;
use support::{Cli, WEBHOOK};
use uuid::Uuid;

/// One tmux server (its own socket) running the TUI.
struct Tmux {
    socket: String,
}

impl Tmux {
    async fn start(cli: &Cli) -> Self {
        assert!(
            std::path::Path::new("/usr/bin/tmux").is_file(),
            "tmux is missing: run ./deploy/dev/ensure-deps.sh --test"
        );
        let socket = format!("rustbill-tui-{}", Uuid::now_v7().simple());
        // After the UI ends, the shell prints its exit code on the (restored)
        // main screen and keeps the pane open for the test to read.
        let command = format!(
            "cd {} && {} tui; echo EXITED:$?; sleep 60",
            cli.dir.path().display(),
            env!("CARGO_BIN_EXE_rustbill-cli")
        );
        let status = tokio::process::Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null", "new-session", "-d", "-s", "ui", "-x", "200", "-y", "45"])
            .args(["-e", &format!("DATABASE_URL={}", cli.db.url())])
            .args(["-e", "TERM=xterm-256color"])
            .arg(command)
            .status()
            .await
            .expect("tmux runs");
        assert!(status.success(), "tmux new-session failed");
        Self { socket }
    }

    async fn keys(&self, keys: &[&str]) {
        let status = tokio::process::Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-t", "ui"])
            .args(keys)
            .status()
            .await
            .expect("tmux send-keys");
        assert!(status.success());
    }

    async fn screen(&self) -> String {
        let output = tokio::process::Command::new("tmux")
            .args(["-L", &self.socket, "capture-pane", "-p", "-t", "ui"])
            .output()
            .await
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the screen shows every one of `texts`.
    async fn shows(&self, texts: &[&str]) -> String {
        let what = format!("the screen to show {texts:?}");
        let mut last = String::new();
        let found = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let screen = self.screen().await;
                if texts.iter().all(|text| screen.contains(text)) {
                    return screen;
                }
                last = screen;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        found.unwrap_or_else(|_| panic!("timed out waiting for {what}; the screen:\n{last}"))
    }

    async fn hides(&self, text: &str) {
        let mut last = String::new();
        let gone = tokio::time::timeout(Duration::from_secs(20), async {
            loop {
                let screen = self.screen().await;
                if !screen.contains(text) {
                    return;
                }
                last = screen;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        gone.unwrap_or_else(|_| panic!("{text:?} stayed on the screen:\n{last}"));
    }

    async fn alternate_screen(&self) -> bool {
        let output = tokio::process::Command::new("tmux")
            .args(["-L", &self.socket, "display-message", "-p", "-t", "ui", "#{alternate_on}"])
            .output()
            .await
            .expect("tmux display-message");
        String::from_utf8_lossy(&output.stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux").args(["-L", &self.socket, "kill-server"]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn eight_tabs_details_plugins_and_a_clean_exit() {
    let cli = Cli::new().await;
    cli.ok(&["db", "migrate"]).await;
    cli.ok(&["user", "create", "--username", "admin", "--password", "Admin-Pass-1", "--role", "admin"]).await;
    cli.ok(&["user", "create", "--username", "olga", "--password", "Olga-Pass-1"]).await;
    let pool = cli.pool().await;
    support::customer(&pool, "Acme Hosting", "ops@acme.example", "0").await;
    let definition = support::webhook_definition(&pool).await;
    let hooks = support::interface(&pool, definition, "Hooks", WEBHOOK, r#"{"url": "https://hooks.example/x"}"#).await;
    let enabled = || async {
        sqlx::query_scalar::<_, bool>("select enabled from plugins.plugin_interfaces where id = $1")
            .bind(hooks)
            .fetch_one(&pool)
            .await
            .expect("interface")
    };

    let tmux = Tmux::start(&cli).await;
    tmux.shows(&["1 Dashboard", "8 DB Status", "customers", "staff users"]).await;
    assert!(tmux.alternate_screen().await, "the UI runs on the alternate screen");

    // Tabs by number, Tab and Shift-Tab.
    tmux.keys(&["4"]).await;
    tmux.shows(&["Acme Hosting", "ops@acme.example"]).await;
    tmux.keys(&["Tab"]).await;
    tmux.shows(&[" Products ", "(none)"]).await;
    tmux.keys(&["BTab", "BTab"]).await;
    tmux.shows(&[" Cust Users "]).await;
    tmux.keys(&["8"]).await;
    tmux.shows(&["identity", "payments", "none"]).await;

    // Plugins: a detail, then disable and enable with x / e.
    tmux.keys(&["6"]).await;
    let screen = tmux.shows(&["Hooks", "webhook"]).await;
    println!("{screen}");
    tmux.keys(&["Enter"]).await;
    tmux.shows(&["Detail (Backspace closes)", "display_name: Hooks", &format!("id: {hooks}")]).await;
    tmux.keys(&["BSpace"]).await;
    tmux.hides("Detail (Backspace closes)").await;
    tmux.keys(&["e"]).await;
    tmux.shows(&["Hooks enabled"]).await;
    assert!(enabled().await);
    tmux.keys(&["x"]).await;
    tmux.shows(&["Hooks disabled"]).await;
    assert!(!enabled().await, "x disabled the interface");
    tmux.keys(&["e"]).await;
    tmux.shows(&["Hooks enabled"]).await;
    assert!(enabled().await, "e enabled it again");

    // Admin users: d asks first; n keeps, y deletes.
    tmux.keys(&["2"]).await;
    tmux.shows(&["olga", "operator"]).await;
    tmux.keys(&["j", "d"]).await;
    tmux.shows(&["Delete staff user olga?"]).await;
    tmux.keys(&["n"]).await;
    tmux.shows(&["cancelled"]).await;
    tmux.keys(&["d"]).await;
    tmux.shows(&["Delete staff user olga?"]).await;
    tmux.keys(&["y"]).await;
    tmux.shows(&["deleted olga"]).await;
    let olga: i64 = sqlx::query_scalar("select count(*) from identity.admin_users where username = 'olga'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(olga, 0);
    // The last admin is protected, and says so.
    tmux.keys(&["k", "d"]).await;
    tmux.shows(&["Delete staff user admin?"]).await;
    tmux.keys(&["y"]).await;
    tmux.shows(&["last active admin"]).await;

    // q quits, and the terminal is the shell's again.
    tmux.keys(&["q"]).await;
    tmux.shows(&["EXITED:0"]).await;
    wait_for("the main screen", Duration::from_secs(10), || async { (!tmux.alternate_screen().await).then_some(()) })
        .await;
}
