//! `[redis]`: the session cache (identity) and the shared rate limits (the
//! edge) use a real `redis-server`. Killed in the middle of a load run, no
//! request fails (PostgreSQL and memory take over, each says so once);
//! restarted, Redis is used again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::AsyncCommands;
use rustbill_proto::identity::identity_service_client::IdentityServiceClient;
use rustbill_proto::identity::{GetMeRequest, LoginRequest};
use rustbill_shared::testkit::wait_for;
use rustbill_system_tests::{ADMIN_PASSWORD, ADMIN_USERNAME, Settings, TestServer, flows, session};
use tokio::process::{Child, Command};

const PREFIX: &str = "loadtest";

/// A real `redis-server` (installed by `make test`) on a fixed port, so it
/// can be killed and started again where the server expects it.
struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    async fn start() -> Self {
        let port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
        let mut server = Self { port, child: None };
        server.restart().await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Server settings that use this Redis under [`PREFIX`].
    fn settings(&self) -> Settings {
        Settings::default()
            .with("RUSTBILL_REDIS__ENABLED", "true")
            .with("RUSTBILL_REDIS__URL", &self.url())
            .with("RUSTBILL_REDIS__PREFIX", PREFIX)
    }

    /// Starts it (empty: no persistence) and waits until it answers.
    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("redis-server is not installed (make test installs it: apt-get install redis-server)");
        self.child = Some(child);
        wait_for("redis-server to answer", Duration::from_secs(10), || async {
            let client = redis::Client::open(self.url()).ok()?;
            let mut connection = client.get_multiplexed_async_connection().await.ok()?;
            redis::cmd("PING").query_async::<String>(&mut connection).await.ok()
        })
        .await;
    }

    /// SIGKILL: a crash, not a shutdown.
    async fn kill(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().await.expect("kill redis-server");
    }

    /// Keys matching `pattern` (empty when Redis is down).
    async fn keys(&self, pattern: &str) -> Vec<String> {
        let Ok(client) = redis::Client::open(self.url()) else { return Vec::new() };
        let Ok(mut connection) = client.get_multiplexed_async_connection().await else { return Vec::new() };
        connection.keys(pattern).await.unwrap_or_default()
    }
}

#[derive(Default)]
struct Load {
    ok: AtomicU64,
    failed: AtomicU64,
    errors: std::sync::Mutex<Vec<String>>,
}

impl Load {
    fn record<T>(&self, result: Result<T, tonic::Status>) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(status) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.errors.lock().unwrap().push(format!("{status:?}"));
            }
        }
    }
}

/// Waits until `more` further requests have succeeded.
async fn progress(load: &Load, more: u64, what: &str) {
    let target = load.ok.load(Ordering::Relaxed) + more;
    wait_for(what, Duration::from_secs(60), || async { (load.ok.load(Ordering::Relaxed) >= target).then_some(()) })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_redis_under_load_fails_no_request_and_it_is_used_again_after_a_restart() {
    let mut redis = RedisServer::start().await;
    let server = TestServer::start_with(
        redis
            .settings()
            .with("RUSTBILL_RATE_LIMIT__ENABLED", "true")
            .with("RUSTBILL_RATE_LIMIT__LOGIN_PER_SEC", "1000"),
    )
    .await
    .unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let channel = server.channel().await;

    // Load: four clients call GetMe with the admin's session (resolved
    // through the session cache) and now and then log in (counted by the
    // shared rate limit), until told to stop.
    let load = Arc::new(Load::default());
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for client in 0..4 {
        let (load, stop, channel, admin) = (load.clone(), stop.clone(), channel.clone(), admin.clone());
        clients.push(tokio::spawn(async move {
            let mut identity = IdentityServiceClient::new(channel);
            let mut turn = 0u64;
            while !stop.load(Ordering::Relaxed) {
                turn += 1;
                if (turn + client) % 25 == 0 {
                    let login = LoginRequest {
                        username: ADMIN_USERNAME.into(),
                        password: ADMIN_PASSWORD.into(),
                        user_type: "admin".into(),
                    };
                    load.record(identity.login(login).await);
                } else {
                    load.record(identity.get_me(session(GetMeRequest {}, &admin)).await);
                }
            }
        }));
    }

    progress(&load, 100, "load with Redis up").await;
    let sessions = redis.keys(&format!("{PREFIX}:session:*")).await;
    assert!(!sessions.is_empty(), "the session cache is in Redis");
    let used_before = server.log().matches("redis is not available").count();
    assert_eq!(used_before, 0, "no fallback while Redis is up:\n{}", server.log());

    // Kill Redis mid-run: every request still succeeds, on PostgreSQL.
    redis.kill().await;
    progress(&load, 300, "load with Redis killed").await;
    let log = server.log();
    assert_eq!(
        log.matches("redis is not available").count(),
        2,
        "the session cache and the rate limiter each say once that Redis is gone:\n{log}"
    );

    // Start it again (empty): it is used again.
    redis.restart().await;
    wait_for("sessions cached in the restarted Redis", Duration::from_secs(30), || async {
        let keys = redis.keys(&format!("{PREFIX}:session:*")).await;
        (!keys.is_empty()).then_some(())
    })
    .await;
    wait_for("rate limits counted in the restarted Redis", Duration::from_secs(30), || async {
        let keys = redis.keys(&format!("{PREFIX}:ratelimit:*")).await;
        (!keys.is_empty()).then_some(())
    })
    .await;
    progress(&load, 100, "load with Redis back").await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let errors = load.errors.lock().unwrap().clone();
    assert_eq!(load.failed.load(Ordering::Relaxed), 0, "failed requests: {errors:?}");
    let log = server.log();
    assert_eq!(log.matches("redis is not available").count(), 2, "said once each:\n{log}");
    assert_eq!(log.matches("redis is reachable again").count(), 2, "both say Redis is back:\n{log}");
    println!("{} requests, none failed", load.ok.load(Ordering::Relaxed));
}

/// A cached session is dropped when its admin changes: demoted, the
/// admin's rights end at once; disabled, the next call is refused at once; logged out,
/// the entry is gone. None of it waits for the entry to expire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_to_an_admin_reach_cached_sessions_at_once() {
    use rustbill_proto::identity::{CreateAdminUserRequest, LogoutRequest, UpdateUserRequest};

    let redis = RedisServer::start().await;
    let server = TestServer::start_with(redis.settings().with("RUSTBILL_RATE_LIMIT__ENABLED", "false")).await.unwrap();
    let admin = flows::bootstrap_admin(&server).await;
    let channel = server.channel().await;
    let mut identity = IdentityServiceClient::new(channel.clone());
    let created = identity
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "cached_admin".into(),
                password: "cached-Pass-123".into(),
                role: "admin".into(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create admin")
        .into_inner()
        .user
        .expect("user");
    let cookie = flows::admin_cookie(channel.clone(), "cached_admin", "cached-Pass-123").await;
    let reader = identity.clone();
    let role = |cookie: String| {
        let mut identity = reader.clone();
        async move { identity.get_me(session(GetMeRequest {}, &cookie)).await.map(|me| me.into_inner().user.unwrap().role) }
    };
    assert_eq!(role(cookie.clone()).await.expect("me"), "admin");
    let cached = redis.keys(&format!("{PREFIX}:session:*")).await;
    assert_eq!(cached.len(), 2, "both admins' sessions are cached: {cached:?}");

    // Demoted: the very next call sees the operator role.
    identity
        .update_user(session(
            UpdateUserRequest { id: created.id.clone(), role: Some("operator".into()), ..Default::default() },
            &admin,
        ))
        .await
        .expect("demote");
    assert_eq!(role(cookie.clone()).await.expect("me"), "operator");
    let denied = identity
        .create_admin_user(session(
            CreateAdminUserRequest {
                username: "not_allowed".into(),
                password: "not-Allowed-123".into(),
                role: "operator".into(),
                ..Default::default()
            },
            &cookie,
        ))
        .await
        .expect_err("an operator may not add staff");
    assert_eq!(denied.code(), tonic::Code::PermissionDenied, "the cached admin role was dropped: {denied:?}");

    // Disabled: refused at once.
    identity
        .update_user(session(
            UpdateUserRequest { id: created.id.clone(), is_active: Some(false), ..Default::default() },
            &admin,
        ))
        .await
        .expect("disable");
    let refused = role(cookie.clone()).await.expect_err("a disabled admin's session");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");

    // Logging out removes the entry.
    let before = redis.keys(&format!("{PREFIX}:session:*")).await.len();
    identity.logout(session(LogoutRequest {}, &admin)).await.expect("logout");
    let after = redis.keys(&format!("{PREFIX}:session:*")).await.len();
    assert_eq!(after, before - 1, "logout deletes its cache entry");
    let refused = role(admin.clone()).await.expect_err("a logged-out session");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
}
