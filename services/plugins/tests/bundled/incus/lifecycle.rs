//! A server's life: created from the customer's order and running with an
//! address, its status, the customer's actions, what the customer sees,
//! and its end.

use std::time::Duration;

use rustbill_plugins::engine::{ActionOutcome, ActionStyle, DetailSection, InstanceAction, InstanceCreated};
use serde_json::{Value as Json, json};

use super::harness::{Setup, action, failure, order, success, target};
use crate::support::wait_until;

const NAME: &str = "web-01-0193f2a4-77aa";

fn cloud_config(user_data: &str) -> Json {
    let body = user_data.strip_prefix("#cloud-config\n").expect("a #cloud-config header");
    serde_json::from_str(body).expect("cloud-config as JSON (a YAML subset)")
}

fn enabled(actions: &[InstanceAction]) -> Vec<&str> {
    actions.iter().filter(|action| action.enabled).map(|action| action.id.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_is_created_running_driven_and_deleted() {
    let setup = Setup::new("incus-life").await;
    let config = setup.config_with(json!({"network": "incusbr0"}));
    let mut args = order("0193F2A4-77AA", "Web-01.Example.com");
    args["password"] = json!("s3cret \"pass\"\n: {x}");
    args["ssh_key"] = json!("ssh-ed25519 AAAAC3Nza test@laptop");

    // Create: named from hostname and instance id, running, with eth0's
    // address (not docker0's, which sorts first).
    let created =
        InstanceCreated::from_return(setup.call_with(&config, "create_instance", args).await).expect("created");
    assert_eq!(created.instance_id, NAME);
    assert_eq!(created.status, "running");
    assert_eq!(created.ip_address.as_deref(), Some("10.89.0.11"));
    assert!(created.created_at.as_deref().is_some_and(|at| at.ends_with('Z')), "{created:?}");

    // What Incus was asked for.
    let instance = setup.server.instance("customers", NAME).expect("in project customers");
    assert_eq!(instance.status, "Running");
    assert_eq!(instance.kind, "container");
    assert_eq!(instance.config["limits.cpu"], "2");
    assert_eq!(instance.config["limits.memory"], "4GiB");
    assert_eq!(instance.config["user.rustbill.instance_id"], "0193F2A4-77AA");
    assert_eq!(instance.config["user.rustbill.order_id"], "ord-1");
    assert_eq!(instance.devices["root"], json!({"type": "disk", "path": "/", "pool": "fast", "size": "40GiB"}));
    assert_eq!(
        instance.devices["eth0"],
        json!({"type": "nic", "name": "eth0", "network": "incusbr0",
               "limits.ingress": "100Mbit", "limits.egress": "100Mbit"})
    );
    assert_eq!(instance.source, json!({"type": "image", "alias": "ubuntu/24.04"}));
    assert_eq!(instance.profiles, json!(["default"]));
    let cloud = cloud_config(instance.config["cloud-init.user-data"].as_str().expect("user data"));
    assert_eq!(cloud["hostname"], "web-01");
    assert_eq!(cloud["fqdn"], "web-01.example.com");
    assert_eq!(
        cloud["chpasswd"]["users"][0],
        json!({"name": "root", "password": "s3cret \"pass\"\n: {x}", "type": "text"})
    );
    assert_eq!(cloud["ssh_authorized_keys"], json!(["ssh-ed25519 AAAAC3Nza test@laptop"]));

    // In Incus's order: create (stopped) and wait, read, start and wait, read.
    let calls: Vec<String> = setup.server.requests().iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let create = &setup.server.requests_to("POST", "/1.0/instances")[0];
    assert_eq!(create.query.get("project").map(String::as_str), Some("customers"));
    assert_eq!(create.body["start"], false);
    assert_eq!(create.body["name"], NAME);
    let waits = setup.server.requests_to("GET", "/wait");
    assert_eq!(waits.len(), 2, "{calls:?}");
    // operation_timeout_secs is 5: no single wait asks for more.
    assert!(waits.iter().all(|wait| wait.query.get("timeout").is_some_and(|t| (1..=5).contains(&t.parse().unwrap()))));
    let position = |method: &str, suffix: &str| {
        let prefix = format!("{method} ");
        calls.iter().position(|call| call.starts_with(&prefix) && call.ends_with(suffix)).expect(suffix)
    };
    let start = setup.server.requests_to("PUT", &format!("/1.0/instances/{NAME}/state"));
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].body["action"], "start");
    assert!(position("POST", "/1.0/instances") < position("GET", "/wait"), "{calls:?}");
    assert!(position("GET", "/wait") < position("PUT", "/state"), "created before it is started: {calls:?}");

    let status = success(setup.call("get_instance_status", target(NAME)).await);
    assert_eq!(status, json!({"status": "running", "ip_address": "10.89.0.11"}));

    // Actions change the server's state.
    let stopped = ActionOutcome::from_return(setup.call("execute_action", action(NAME, "stop")).await).unwrap();
    assert!(stopped.success);
    assert_eq!(stopped.data, json!({"status": "stopped", "ip_address": ""}));
    assert_eq!(setup.server.instance("customers", NAME).unwrap().status, "Stopped");
    let stop_request = setup.server.requests_to("PUT", "/state").pop().unwrap();
    assert_eq!((stop_request.body["force"].as_bool(), stop_request.body["timeout"].as_i64()), (Some(false), Some(30)));
    let again = failure(setup.call("execute_action", action(NAME, "stop")).await);
    assert!(again.contains("could not stop") && again.contains("The instance is already stopped"), "{again}");
    let status = success(setup.call("get_instance_status", target(NAME)).await);
    assert_eq!(status, json!({"status": "stopped", "ip_address": ""}));

    let actions = InstanceAction::list_from_return(
        setup.call("instance_actions", json!({"instance_id": NAME, "status": "stopped"})).await,
    )
    .unwrap();
    assert_eq!(enabled(&actions), ["start"]);

    let started = ActionOutcome::from_return(setup.call("execute_action", action(NAME, "start")).await).unwrap();
    assert_eq!(started.data, json!({"status": "running", "ip_address": "10.89.0.12"}));
    assert_eq!(started.message, "start done, the server is running");
    let restarted = ActionOutcome::from_return(setup.call("execute_action", action(NAME, "restart")).await).unwrap();
    assert!(restarted.success);
    assert_eq!(setup.server.instance("customers", NAME).unwrap().restarts, 1);

    let actions = InstanceAction::list_from_return(
        setup.call("instance_actions", json!({"instance_id": NAME, "status": "running"})).await,
    )
    .unwrap();
    assert_eq!(enabled(&actions), ["restart", "stop", "force_stop"]);
    let force = actions.iter().find(|action| action.id == "force_stop").unwrap();
    assert_eq!(force.style, ActionStyle::Danger);
    assert!(!force.confirmation.is_empty());
    let none = InstanceAction::list_from_return(
        setup.call("instance_actions", json!({"instance_id": NAME, "status": "terminated"})).await,
    )
    .unwrap();
    assert!(enabled(&none).is_empty());

    // What the customer sees: Incus's live values.
    let mut view = order("0193F2A4-77AA", "Web-01.Example.com");
    view["instance_id"] = json!(NAME);
    view["status"] = json!("running");
    view["ip_address"] = json!("10.89.0.12");
    let sections = DetailSection::list_from_return(setup.call("instance_detail_sections", view).await).unwrap();
    assert_eq!(sections.len(), 1);
    let section = &sections[0];
    assert_eq!((section.kind.as_str(), section.order), ("properties", 1));
    let html = section.content_html.as_deref().unwrap();
    for shown in ["4GiB", "40GiB", "Ubuntu noble amd64", "10.89.0.12", "fd42:7c1e::10", "running"] {
        assert!(html.contains(shown), "{shown} missing from {html}");
    }
    assert_eq!(section.data_json["cpu_cores"], "2");
    assert_eq!(section.data_json["ipv4"], "10.89.0.12");
    assert_eq!(section.data_json["live"], true);

    let forced = ActionOutcome::from_return(setup.call("execute_action", action(NAME, "force_stop")).await).unwrap();
    assert_eq!(forced.data["status"], "stopped");
    assert_eq!(setup.server.requests_to("PUT", "/state").pop().unwrap().body["force"], true);
    let unknown = failure(setup.call("execute_action", action(NAME, "explode")).await);
    assert!(unknown.contains("unknown action explode"), "{unknown}");
    let puts = setup.server.requests_to("PUT", "/state").len();

    // Terminate a running server: forced off, deleted; then it is gone.
    ActionOutcome::from_return(setup.call("execute_action", action(NAME, "start")).await).unwrap();
    let deleted = success(setup.call("terminate_instance", target(NAME)).await);
    assert_eq!(deleted, format!("{NAME} deleted"));
    assert!(setup.server.instance("customers", NAME).is_none());
    let last_stop = setup.server.requests_to("PUT", "/state").pop().unwrap();
    assert_eq!(setup.server.requests_to("PUT", "/state").len(), puts + 2);
    assert_eq!((last_stop.body["action"].as_str(), last_stop.body["force"].as_bool()), (Some("stop"), Some(true)));
    assert_eq!(setup.server.requests_to("DELETE", &format!("/1.0/instances/{NAME}")).len(), 1);
    let gone = success(setup.call("get_instance_status", target(NAME)).await);
    assert_eq!(gone, json!({"status": "terminated", "ip_address": ""}));
    assert_eq!(success(setup.call("terminate_instance", target(NAME)).await), format!("{NAME} was already deleted"));
    assert_eq!(setup.server.requests_to("DELETE", &format!("/1.0/instances/{NAME}")).len(), 1);
    assert_eq!(setup.server.running_operations(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detail_sections_escape_what_they_show() {
    let setup = Setup::new("incus-details").await;
    // Not on the server: what RustBill passed is shown, escaped.
    let view = json!({"instance_id": "gone-1", "status": "stopped", "ip_address": "", "cpu_cores": 1,
                      "memory_gb": 2, "disk_gb": 20, "os": "<script>alert('x')</script>"});
    let sections = DetailSection::list_from_return(setup.call("instance_detail_sections", view).await).unwrap();
    let html = sections[0].content_html.as_deref().unwrap();
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"), "{html}");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("2 GB") && html.contains("20 GB"), "{html}");
    assert_eq!(sections[0].data_json["live"], false);
    assert_eq!(sections[0].data_json["os"], "<script>alert('x')</script>");
}

/// Every Incus operation is waited for: nothing happens to an instance
/// before the operation that creates it finished.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_waits_for_each_operation() {
    let setup = std::sync::Arc::new(Setup::new("incus-wait").await);
    setup.server.hold_operations(true);
    let call = tokio::spawn({
        let setup = setup.clone();
        async move { setup.call("create_instance", order("0193F2A4-77AA", "web-01")).await }
    });
    let server = &setup.server;
    wait_until("the script waiting for the create operation", Duration::from_secs(10), || {
        server.requests_to("GET", "/wait").len() == 1
    })
    .await;
    assert!(server.requests_to("PUT", "/state").is_empty(), "started before it was created");
    assert!(server.instance("customers", NAME).is_none());
    server.release();
    wait_until("the script waiting for the start operation", Duration::from_secs(10), || {
        server.requests_to("GET", "/wait").len() == 2
    })
    .await;
    assert_eq!(server.requests_to("PUT", "/state").len(), 1);
    assert_eq!(server.instance("customers", NAME).unwrap().status, "Stopped");
    assert!(!call.is_finished());
    server.release();
    let created = InstanceCreated::from_return(call.await.unwrap()).expect("created");
    assert_eq!((created.status.as_str(), created.ip_address.as_deref()), ("running", Some("10.89.0.11")));
    assert_eq!(server.instance("customers", NAME).unwrap().status, "Running");
}

/// A guest that gets its address after the create call: status reports
/// it later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_address_that_comes_late_is_reported_by_the_status() {
    let setup = Setup::new("incus-dhcp").await;
    setup.server.set_dhcp(false);
    let created =
        InstanceCreated::from_return(setup.call("create_instance", order("0193F2A4-77AA", "web-01")).await).unwrap();
    // No address yet ("" decodes as none).
    assert_eq!((created.status.as_str(), created.ip_address.as_deref()), ("running", None));
    let address = setup.server.give_address("customers", NAME);
    let status = success(setup.call("get_instance_status", target(NAME)).await);
    assert_eq!(status, json!({"status": "running", "ip_address": address}));
}

/// A create that RustBill retries (after a timeout, a restart) finds the
/// instance it made and carries on; an instance of someone else with the
/// same name is not taken over.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_carries_on_with_its_own_instance_only() {
    let setup = Setup::new("incus-retry").await;
    // The default operation timeout (60 s) is waited for in slices of 15 s,
    // inside the HTTP client's request timeout.
    let patient = setup.config_with(json!({"operation_timeout_secs": null}));
    let first =
        InstanceCreated::from_return(setup.call_with(&patient, "create_instance", order("job_7", "db")).await).unwrap();
    assert_eq!(first.instance_id, "db-job-7");
    let waits = setup.server.requests_to("GET", "/wait");
    assert!(!waits.is_empty() && waits.iter().all(|wait| wait.query["timeout"] == "15"), "{waits:?}");
    // Stopped in between (say the first call died before starting it).
    ActionOutcome::from_return(setup.call("execute_action", action("db-job-7", "stop")).await).unwrap();
    let again = InstanceCreated::from_return(setup.call("create_instance", order("job_7", "db")).await).unwrap();
    assert_eq!((again.instance_id.as_str(), again.status.as_str()), ("db-job-7", "running"));
    assert_eq!(setup.server.instance_count(), 1);
    assert_eq!(setup.server.requests_to("POST", "/1.0/instances").len(), 2);

    // "JOB-7" makes the same name but is another RustBill instance.
    let error = failure(setup.call("create_instance", order("JOB-7", "db")).await);
    assert!(error.contains("db-job-7 exists and belongs to job_7, not to JOB-7"), "{error}");
    assert_eq!(setup.server.instance_count(), 1);

    // Without a hostname the name is rb-<id>; an all-digit id is fine.
    let plain = InstanceCreated::from_return(setup.call("create_instance", order("12345", "")).await).unwrap();
    assert_eq!(plain.instance_id, "rb-12345");
}

/// A plan change: new CPU and memory limits and a larger root disk by
/// PATCH; a smaller disk and a size outside the limits are refused.
#[tokio::test]
async fn a_plan_change_resizes_and_never_shrinks_the_disk() {
    let setup = Setup::new("incus-resize").await;
    let config = setup.config_with(json!({}));
    InstanceCreated::from_return(setup.call_with(&config, "create_instance", order("0193F2A4-77AA", "web-01")).await)
        .expect("created");
    let name = setup.server.instances_named().pop().expect("one instance");
    let resize = |cores: u32, memory: u32, disk: u32| {
        json!({ "instance_id": name, "action": "resize",
                "params": { "cpu_cores": cores, "memory_gb": memory, "disk_gb": disk, "os": "ubuntu/24.04" } })
    };
    let done = success(setup.call_with(&config, "execute_action", resize(4, 8, 80)).await);
    assert_eq!(done["success"], true, "{done}");
    let project =
        setup.server.requests_to("POST", "/1.0/instances")[0].query.get("project").cloned().unwrap_or_default();
    let instance = setup.server.instance(&project, &name).expect("instance");
    assert_eq!(
        (instance.config["limits.cpu"].as_str(), instance.config["limits.memory"].as_str()),
        (Some("4"), Some("8GiB"))
    );
    assert_eq!(instance.devices["root"]["size"], "80GiB");
    assert_eq!(instance.config["user.rustbill.order_id"], "ord-1", "other keys are kept");
    let patch = setup.server.requests_to("PATCH", &format!("/1.0/instances/{name}")).pop().expect("a PATCH");
    assert!(patch.body.get("source").is_none(), "only what changes is sent: {}", patch.body);

    let error = failure(setup.call_with(&config, "execute_action", resize(2, 4, 40)).await);
    assert!(error.contains("cannot shrink from 80 GiB to 40 GiB"), "{error}");
    let error = failure(setup.call_with(&config, "execute_action", resize(512, 4, 80)).await);
    assert!(!error.is_empty());
    let patches = setup.server.requests_to("PATCH", &format!("/1.0/instances/{name}")).len();
    assert_eq!(patches, 1, "refused resizes send nothing");
    assert_eq!(setup.server.instance(&project, &name).expect("instance").devices["root"]["size"], "80GiB");
}
