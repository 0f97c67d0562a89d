//! Starting the binaries: refusals with a one-line reason, the embedded
//! PostgreSQL of `rustbill-server`, health and readiness.

use std::process::Stdio;
use std::time::Duration;

use rustbill_proto::identity::LoginRequest;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_shared::testkit::TestDb;
use rustbill_system_tests::{ADMIN_PASSWORD, JWT_SECRET, binary};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Runs `program` with only `env`, expecting it to exit; returns (code, stderr).
async fn run_to_exit(program: &str, env: &[(&str, &str)]) -> (i32, String) {
    let workdir = tempfile::tempdir().unwrap();
    let mut command = Command::new(binary(program).unwrap());
    command
        .current_dir(workdir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (key, value) in env {
        command.env(key, value);
    }
    let output = tokio::time::timeout(Duration::from_secs(60), command.output()).await.expect("exits").unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn one_line(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().filter(|line| !line.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected a one-line reason, got:\n{stderr}");
    lines[0]
}

#[tokio::test]
async fn weak_jwt_secrets_are_refused_with_one_line() {
    for (secret, reason) in [
        ("", "[jwt].secret is not set"),
        ("change-me-in-production", "placeholder"),
        ("too-short-secret", "at least 32"),
    ] {
        for program in ["rustbill-server", "rustbill-identity", "rustbill-edge"] {
            let (code, stderr) = run_to_exit(
                program,
                &[("RUSTBILL_JWT__SECRET", secret), ("RUSTBILL_DB__URL", "postgres://127.0.0.1:1/none")],
            )
            .await;
            assert_eq!(code, 2, "{program} with secret {secret:?}: {stderr}");
            let line = one_line(&stderr);
            assert!(line.contains(reason), "{program}: {line}");
        }
    }
}

#[tokio::test]
async fn a_missing_bootstrap_password_is_refused_when_no_admin_exists() {
    let database = TestDb::new().await.unwrap();
    let (code, stderr) =
        run_to_exit("rustbill-server", &[("RUSTBILL_JWT__SECRET", JWT_SECRET), ("RUSTBILL_DB__URL", database.url())])
            .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(one_line(&stderr).contains("[bootstrap].admin_password"), "{stderr}");
}

#[tokio::test]
async fn a_service_binary_alone_needs_a_database_url() {
    let (code, stderr) = run_to_exit("rustbill-identity", &[("RUSTBILL_JWT__SECRET", JWT_SECRET)]).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(one_line(&stderr).contains("[db].url"), "{stderr}");
}

/// `rustbill-server` with no `[db].url` runs its own PostgreSQL from the
/// system's binaries (as an unprivileged user when started as root),
/// answers /health and the bootstrap login, and stops the database on exit.
#[tokio::test]
async fn the_server_runs_an_embedded_database_when_none_is_configured() {
    let workdir = tempfile::tempdir().unwrap();
    let data_dir = workdir.path().join("data/pg");
    let mut child = Command::new(binary("rustbill-server").unwrap())
        .current_dir(workdir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUSTBILL_JWT__SECRET", JWT_SECRET)
        .env("RUSTBILL_BOOTSTRAP__ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("RUSTBILL_SERVER__PORT", "0")
        .env("RUSTBILL_DB__EMBEDDED_DIR", &data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let edge = tokio::time::timeout(Duration::from_secs(90), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.strip_prefix("rustbill-server ready: edge=") {
                return rest.split_whitespace().next().unwrap().to_string();
            }
        }
        panic!("server exited before it was ready");
    })
    .await
    .expect("ready within 90 s");
    assert!(data_dir.join("PG_VERSION").exists(), "initdb ran in the embedded dir");

    let health = reqwest::get(format!("{edge}/health")).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "OK");
    let ready = rustbill_shared::testkit::wait_for("/ready", Duration::from_secs(30), || {
        let url = format!("{edge}/ready");
        async move { reqwest::get(url).await.ok().filter(|response| response.status() == 200) }
    })
    .await;
    assert_eq!(ready.status(), 200);

    let mut identity = IdentityServiceClient::connect(edge.clone()).await.unwrap();
    identity
        .login(LoginRequest { username: "admin".into(), password: ADMIN_PASSWORD.into(), user_type: "admin".into() })
        .await
        .expect("bootstrap admin logs in");

    let pid = child.id().unwrap();
    std::process::Command::new("kill").arg("-TERM").arg(pid.to_string()).status().unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!data_dir.join("postmaster.pid").exists(), "the embedded PostgreSQL was stopped");
}
