//! Things going wrong: Incus's own errors come back as the provider's
//! `ERROR: …` with Incus's text; operations that do not finish in time;
//! a server that is not there; a wrong project is not a deleted instance.

use rustbill_plugins::engine::{InstanceCreated, PluginType, parse_health};
use serde_json::json;

use super::harness::{Setup, failure, order, success, target};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incus_errors_are_reported_with_incus_text() {
    let setup = Setup::new("incus-errors").await;

    // Offered, but the server has no such image: Incus fails the create
    // operation ("status": "Failure", "err": …).
    let mut missing = order("i-1", "web");
    missing["os"] = json!("alpine/3.20");
    let error = setup.failure("create_instance", missing).await;
    assert_eq!(
        error,
        "Incus could not create web-i-1 from image alpine/3.20: Image not provided for instance creation"
    );
    assert_eq!(setup.server.instance_count(), 0);
    assert!(setup.server.requests_to("PUT", "/state").is_empty());

    // A pool the server does not have.
    let slow = setup.config_with(json!({"storage_pool": "slow"}));
    let error = failure(setup.call_with(&slow, "create_instance", order("i-2", "web")).await);
    assert!(error.ends_with("Failed loading storage pool: Storage pool not found"), "{error}");

    // Refused before anything is sent: an image that is not offered, a
    // spec out of range, no name.
    let posts = setup.server.requests_to("POST", "/1.0/instances").len();
    let mut gentoo = order("i-3", "web");
    gentoo["os"] = json!("gentoo/latest");
    assert_eq!(setup.failure("create_instance", gentoo).await, "image gentoo/latest is not offered by this provider");
    let mut huge = order("i-4", "web");
    huge["disk_gb"] = json!(5000);
    assert_eq!(setup.failure("create_instance", huge).await, "disk_gb must be 10 to 500, got 5000");
    let nameless = setup.failure("create_instance", order("", "")).await;
    assert!(nameless.contains("needs instance_id or hostname"), "{nameless}");
    assert_eq!(setup.server.requests_to("POST", "/1.0/instances").len(), posts);

    // A state change Incus refuses.
    InstanceCreated::from_return(setup.call("create_instance", order("i-5", "web")).await).expect("created");
    setup.ok("execute_action", json!({"instance_id": "web-i-5", "action": "stop"})).await;
    let error = setup.failure("execute_action", json!({"instance_id": "web-i-5", "action": "restart"})).await;
    assert_eq!(error, "Incus could not restart web-i-5: The instance isn't running");
    assert_eq!(setup.server.instance("customers", "web-i-5").unwrap().restarts, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_that_outlasts_its_timeout_is_an_error_and_a_retry_finishes_it() {
    let setup = Setup::new("incus-slow").await;
    let impatient = setup.config_with(json!({"operation_timeout_secs": "1"}));
    setup.server.hold_operations(true);
    let error = failure(setup.call_with(&impatient, "create_instance", order("i-1", "web")).await);
    assert!(
        error.starts_with("Incus could not create web-i-1 from image ubuntu/24.04: operation /1.0/operations/"),
        "{error}"
    );
    assert!(error.ends_with("still running after 1 s"), "{error}");
    let waits = setup.server.requests_to("GET", "/wait");
    assert!(!waits.is_empty() && waits.iter().all(|wait| wait.query["timeout"] == "1"), "{waits:?}");
    assert_eq!(setup.server.running_operations(), 1);

    // Incus finishes the create; RustBill retries and gets a running server.
    setup.server.release();
    setup.server.hold_operations(false);
    let created =
        InstanceCreated::from_return(setup.call("create_instance", order("i-1", "web")).await).expect("created");
    assert_eq!((created.instance_id.as_str(), created.status.as_str()), ("web-i-1", "running"));
    assert_eq!(setup.server.instance_count(), 1);
}

/// LXD (and older Incus) answer a failed or timed-out wait with an error
/// envelope instead of the operation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_answered_with_error_envelopes_are_understood() {
    let setup = Setup::new("incus-lxd").await;
    setup.server.lxd_style_waits(true);
    let mut missing = order("i-1", "web");
    missing["os"] = json!("alpine/3.20");
    let error = setup.failure("create_instance", missing).await;
    assert_eq!(
        error,
        "Incus could not create web-i-1 from image alpine/3.20: Image not provided for instance creation"
    );

    let impatient = setup.config_with(json!({"operation_timeout_secs": "1"}));
    setup.server.hold_operations(true);
    let error = failure(setup.call_with(&impatient, "create_instance", order("i-2", "web")).await);
    assert!(error.ends_with("still running after 1 s"), "{error}");
    setup.server.release();
    setup.server.hold_operations(false);
    let created = InstanceCreated::from_return(setup.call("create_instance", order("i-2", "web")).await).unwrap();
    assert_eq!(created.status, "running");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_an_error() {
    let setup = Setup::new("incus-down").await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down =
        setup.config_with(json!({"api_url": format!("https://127.0.0.1:{}", closed.local_addr().unwrap().port())}));
    drop(closed);
    let error = failure(setup.call_with(&down, "get_instance_status", target("web-i-1")).await);
    assert!(error.starts_with("Incus could not read web-i-1: Incus at https://127.0.0.1:"), "{error}");
    assert!(error.contains("did not answer") && error.contains("Connection refused"), "{error}");
    let health = parse_health(PluginType::FirstPartyProvider, setup.call_with(&down, "health_check", json!({})).await);
    assert!(health.expect_err("down").message.contains("did not answer"));
    let error = failure(setup.call_with(&down, "create_instance", order("i-1", "web")).await);
    assert!(error.contains("did not answer"), "{error}");
    let error = failure(setup.call_with(&down, "terminate_instance", target("web-i-1")).await);
    assert!(error.contains("did not answer"), "{error}");

    let plain = setup.config_with(json!({"api_url": "http://127.0.0.1:8443"}));
    let error = failure(setup.call_with(&plain, "health_check", json!({})).await);
    assert_eq!(error, "api_url must be an https:// URL of the Incus API");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_project_is_not_mistaken_for_a_deleted_instance() {
    let setup = Setup::new("incus-project").await;
    InstanceCreated::from_return(setup.call("create_instance", order("i-1", "web")).await).expect("created");
    let elsewhere = setup.config_with(json!({"project": "nope"}));
    let error = failure(setup.call_with(&elsewhere, "get_instance_status", target("web-i-1")).await);
    assert_eq!(error, "Incus could not read web-i-1: Project not found");
    let error = failure(setup.call_with(&elsewhere, "terminate_instance", target("web-i-1")).await);
    assert!(error.contains("Project not found"), "{error}");
    assert!(setup.server.instance("customers", "web-i-1").is_some());
    // In the right project an unknown instance is terminated.
    let unknown = success(setup.call("get_instance_status", target("web-i-404")).await);
    assert_eq!(unknown["status"], "terminated");
}
