//! Instance identity, heartbeat and leader roles held through PostgreSQL
//! (spec HA guide §2–3).
//!
//! Every process registers a UUID v7 in `bus.instance_heartbeat` and renews
//! it every 10 s. A singleton job runs only while its process holds the
//! job's row in `bus.leader_role`: the lease is 30 s, renewed every 10 s, and
//! anybody may take a role whose lease has run out or whose holder stopped
//! heartbeating, so a crashed holder is replaced within 30 s.
//!
//! The spec's `try_acquire` SQL compares the *current* holder with the most
//! idle live instance, which lets nobody take over when that instance is not
//! a candidate (another service's binary). Here any live candidate may take
//! an expired role; the acquisition is one atomic upsert, so two candidates
//! can never both win.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::RwLock;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Lease of a leader role.
pub const LEASE_SECS: i32 = 30;
/// Renewal interval of roles and heartbeats.
pub const RENEW_INTERVAL: Duration = Duration::from_secs(10);

/// This process, as seen by the other instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceIdentity {
    pub id: Uuid,
}

impl InstanceIdentity {
    /// Registers a fresh instance id.
    pub async fn register(pool: &PgPool) -> sqlx::Result<Self> {
        let id = Uuid::now_v7();
        sqlx::query("insert into bus.instance_heartbeat (instance_id) values ($1)").bind(id).execute(pool).await?;
        Ok(Self { id })
    }

    /// Registers a fresh instance id for `service` ("identity", ...) on
    /// this host, as the admin dashboard lists it.
    pub async fn register_as(pool: &PgPool, service: &str) -> sqlx::Result<Self> {
        let id = Uuid::now_v7();
        sqlx::query("insert into bus.instance_heartbeat (instance_id, service, hostname) values ($1, $2, $3)")
            .bind(id)
            .bind(service)
            .bind(hostname())
            .execute(pool)
            .await?;
        Ok(Self { id })
    }

    /// Records one heartbeat with a snapshot of the connection pool.
    pub async fn beat(&self, pool: &PgPool) -> sqlx::Result<()> {
        let idle = i32::try_from(pool.num_idle()).unwrap_or(i32::MAX);
        let size = i32::try_from(pool.size()).unwrap_or(i32::MAX);
        let max = i32::try_from(pool.options().get_max_connections()).unwrap_or(i32::MAX);
        sqlx::query(
            "insert into bus.instance_heartbeat (instance_id, heartbeat_at, pool_idle, pool_active, pool_max)
             values ($1, now(), $2, $3, $4)
             on conflict (instance_id) do update
             set heartbeat_at = now(), pool_idle = $2, pool_active = $3, pool_max = $4",
        )
        .bind(self.id)
        .bind(idle)
        .bind(size - idle)
        .bind(max)
        .execute(pool)
        .await?;
        Ok(())
    }

    /// Heartbeats every [`RENEW_INTERVAL`] until [`Heartbeat::stop`] (or
    /// until the guard is dropped).
    pub fn spawn_heartbeat(self, pool: PgPool) -> Heartbeat {
        self.spawn_heartbeat_reporting(pool, None)
    }

    /// [`Self::spawn_heartbeat`] that also refreshes the outbox depth of a
    /// service's consumers (`schema.…`) for its metric at every beat.
    pub fn spawn_heartbeat_reporting(
        self,
        pool: PgPool,
        outbox: Option<(crate::metrics::OutboxDepth, String)>,
    ) -> Heartbeat {
        let stop = tokio_util::sync::CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(RENEW_INTERVAL);
            loop {
                tokio::select! {
                    () = token.cancelled() => break,
                    _ = ticker.tick() => {}
                }
                // A beat is never cut short: an upsert cancelled mid-flight
                // could still commit after `deregister` and leave a row.
                match self.beat(&pool).await {
                    Ok(()) => tracing::trace!(instance_id = %self.id, "heartbeat"),
                    Err(error) => tracing::warn!(instance_id = %self.id, %error, "heartbeat failed"),
                }
                if let Some((depth, schema)) = &outbox
                    && let Err(error) = depth.refresh(&pool, schema).await
                {
                    tracing::debug!(%error, "outbox depth query failed");
                }
            }
        });
        Heartbeat { stop, task: Some(task) }
    }

    /// Removes this instance's heartbeat row (clean shutdown).
    pub async fn deregister(&self, pool: &PgPool) -> sqlx::Result<()> {
        sqlx::query("delete from bus.instance_heartbeat where instance_id = $1").bind(self.id).execute(pool).await?;
        Ok(())
    }
}

/// The running heartbeat of an instance.
#[derive(Debug)]
pub struct Heartbeat {
    stop: tokio_util::sync::CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl Heartbeat {
    /// Stops beating and waits for a beat in flight to finish, so that a
    /// following `deregister` is the last write.
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            task.await.ok();
        }
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// The leader roles this process holds.
#[derive(Debug, Clone)]
pub struct LeaderElection {
    pool: PgPool,
    instance_id: Uuid,
    held: Arc<RwLock<HashSet<String>>>,
}

impl LeaderElection {
    pub fn new(pool: PgPool, instance: InstanceIdentity) -> Self {
        Self { pool, instance_id: instance.id, held: Arc::default() }
    }

    pub fn instance_id(&self) -> Uuid {
        self.instance_id
    }

    /// Takes `role` when it is free, expired, or its holder stopped
    /// heartbeating; renews it when this instance already holds it.
    /// Only a live candidate (heartbeat within the lease, spec HA guide §3.1)
    /// takes part: an instance whose heartbeat went stale neither takes nor
    /// renews a role, since every other instance already treats it as dead.
    /// Returns whether this instance holds the role afterwards.
    pub async fn try_acquire(&self, role: &str) -> sqlx::Result<bool> {
        let holder: Option<Uuid> = sqlx::query_scalar(
            "insert into bus.leader_role (role, holder, heartbeat_at, ttl_secs)
             select $1, $2, now(), $3
             where exists (
                 select 1 from bus.instance_heartbeat me
                 where me.instance_id = $2
                   and me.heartbeat_at > now() - make_interval(secs => $3))
             on conflict (role) do update
             set holder = excluded.holder, heartbeat_at = now(), ttl_secs = excluded.ttl_secs,
                 acquired_at = case when bus.leader_role.holder = excluded.holder
                                    then bus.leader_role.acquired_at else now() end
             where bus.leader_role.holder = excluded.holder
                or bus.leader_role.holder is null
                or bus.leader_role.heartbeat_at < now() - make_interval(secs => bus.leader_role.ttl_secs)
                or not exists (
                    select 1 from bus.instance_heartbeat h
                    where h.instance_id = bus.leader_role.holder
                      and h.heartbeat_at > now() - make_interval(secs => bus.leader_role.ttl_secs))
             returning holder",
        )
        .bind(role)
        .bind(self.instance_id)
        .bind(LEASE_SECS)
        .fetch_optional(&self.pool)
        .await?;
        let won = holder == Some(self.instance_id);
        let mut held = self.held.write().await;
        let had = held.contains(role);
        if won && !had {
            tracing::info!(role, instance_id = %self.instance_id, "became leader");
            held.insert(role.to_string());
        } else if !won && had {
            tracing::warn!(role, instance_id = %self.instance_id, "lost leadership");
            held.remove(role);
        }
        Ok(won)
    }

    /// Whether this instance held `role` at its last acquisition or renewal.
    pub async fn is_leader(&self, role: &str) -> bool {
        self.held.read().await.contains(role)
    }

    /// Gives `role` up at once so another instance can take it.
    pub async fn release(&self, role: &str) -> sqlx::Result<()> {
        sqlx::query("update bus.leader_role set holder = null where role = $1 and holder = $2")
            .bind(role)
            .bind(self.instance_id)
            .execute(&self.pool)
            .await?;
        if self.held.write().await.remove(role) {
            tracing::info!(role, instance_id = %self.instance_id, "released leadership");
        }
        Ok(())
    }

    /// Gives up every role this instance holds (shutdown).
    pub async fn release_all(&self) -> sqlx::Result<()> {
        let roles: Vec<String> = self.held.read().await.iter().cloned().collect();
        for role in roles {
            self.release(&role).await?;
        }
        Ok(())
    }

    /// How long until `role` can be taken from its current holder: zero when
    /// it is free, its lease ran out or its holder stopped heartbeating;
    /// otherwise the earlier of the lease's and the holder's heartbeat's
    /// expiry.
    pub async fn takeable_in(&self, role: &str) -> sqlx::Result<Duration> {
        let seconds: Option<f64> = sqlx::query_scalar(
            "select greatest(0, extract(epoch from least(
                        r.heartbeat_at + make_interval(secs => r.ttl_secs),
                        coalesce(h.heartbeat_at + make_interval(secs => r.ttl_secs), now())) - now()))::float8
             from bus.leader_role r
             left join bus.instance_heartbeat h on h.instance_id = r.holder
             where r.role = $1 and r.holder is not null",
        )
        .bind(role)
        .fetch_optional(&self.pool)
        .await?
        .flatten();
        Ok(Duration::from_secs_f64(seconds.unwrap_or(0.0).clamp(0.0, 3600.0)))
    }

    /// Holds `role` for as long as possible until `shutdown`: renews it every
    /// `renew_every` while held; otherwise tries again when the current lease
    /// can be taken (at most `renew_every` later), so a crashed holder is
    /// replaced within moments of its lease running out rather than at the
    /// next tick of some job. Releases the role on shutdown. Jobs check
    /// [`Self::is_leader`] before each run.
    pub fn spawn_campaign(
        &self,
        role: String,
        renew_every: Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> JoinHandle<()> {
        /// Past the lease's end, so the attempt is not a hair too early.
        const MARGIN: Duration = Duration::from_millis(150);
        let election = self.clone();
        tokio::spawn(async move {
            loop {
                let pause = match election.try_acquire(&role).await {
                    Ok(true) => renew_every,
                    Ok(false) => match election.takeable_in(&role).await {
                        Ok(wait) => (wait + MARGIN).min(renew_every),
                        Err(_) => renew_every,
                    },
                    Err(error) => {
                        tracing::warn!(role, %error, "leader election failed");
                        if election.held.write().await.remove(&role) {
                            tracing::warn!(role, instance_id = %election.instance_id, "lost leadership");
                        }
                        renew_every
                    }
                };
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
            }
            if let Err(error) = election.release(&role).await {
                tracing::warn!(role, %error, "failed to release the role");
            }
        })
    }

    /// The current holder of `role`, if its lease is live.
    pub async fn holder(&self, role: &str) -> sqlx::Result<Option<Uuid>> {
        sqlx::query_scalar(
            "select holder from bus.leader_role
             where role = $1 and holder is not null
               and heartbeat_at >= now() - make_interval(secs => ttl_secs)",
        )
        .bind(role)
        .fetch_optional(&self.pool)
        .await
        .map(Option::flatten)
    }
}

/// Whether a job guarded by `role` may run now: this instance holds the
/// role, or takes it at once (the campaign may not have tried yet, e.g. on a
/// job's first tick right after startup).
pub async fn leads(election: &LeaderElection, role: &str) -> bool {
    if election.is_leader(role).await {
        return true;
    }
    match election.try_acquire(role).await {
        Ok(won) => won,
        Err(error) => {
            tracing::warn!(role, %error, "leader election failed");
            false
        }
    }
}

/// The name of this host: the kernel's, else `$HOSTNAME`, else empty.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_default()
}
