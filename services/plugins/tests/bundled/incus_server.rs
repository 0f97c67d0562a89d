//! An Incus API server on loopback: HTTPS that requires a client
//! certificate from the test CA, the REST envelopes of Incus (sync, async
//! operations, errors), instances kept in memory with their state machine.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{Value as Json, json};

use crate::support::http_server::{HttpServer, Recorded, Reply, responder};
use crate::support::pki::Pki;

pub const IMAGES: &[&str] = &["debian/12", "ubuntu/24.04"];

#[derive(Debug, Clone)]
pub struct Instance {
    pub project: String,
    pub status: String,
    pub ip: String,
    pub config: Json,
    pub devices: Json,
    pub source: Json,
    pub kind: String,
}

#[derive(Debug, Default)]
struct State {
    instances: HashMap<String, Instance>,
    operations: HashMap<String, (bool, String)>,
    next_ip: u8,
}

pub struct IncusServer {
    pub http: HttpServer,
    state: Arc<Mutex<State>>,
}

fn sync(metadata: Json) -> Reply {
    Reply::new(200, json!({"type": "sync", "status": "Success", "status_code": 200, "metadata": metadata}).to_string())
        .header("content-type", "application/json")
}

fn error(code: u16, message: &str) -> Reply {
    Reply::new(code, json!({"type": "error", "error": message, "error_code": code}).to_string())
        .header("content-type", "application/json")
}

impl State {
    /// Records an operation's outcome and answers 202 with it.
    fn operation(&mut self, outcome: Result<(), String>) -> Reply {
        let id = uuid::Uuid::now_v7().to_string();
        let (ok, err) = match outcome {
            Ok(()) => (true, String::new()),
            Err(message) => (false, message),
        };
        self.operations.insert(id.clone(), (ok, err));
        Reply::new(
            202,
            json!({
                "type": "async", "status": "Operation created", "status_code": 100,
                "operation": format!("/1.0/operations/{id}"),
                "metadata": {"id": id, "class": "task", "status": "Running", "status_code": 103},
            })
            .to_string(),
        )
        .header("content-type", "application/json")
    }
}

fn handle(state: &Mutex<State>, request: &Recorded) -> Reply {
    let (path, query) = request.target.split_once('?').unwrap_or((request.target.as_str(), ""));
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let project = params.get("project").cloned().unwrap_or_else(|| "default".into());
    let mut state = state.lock().unwrap();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["1.0"]) => sync(json!({"auth": "trusted", "api_version": "1.0", "environment": {"server": "incus"}})),
        ("POST", ["1.0", "instances"]) => {
            let Ok(body) = serde_json::from_slice::<Json>(&request.body) else {
                return error(400, "Invalid request body");
            };
            let name = body["name"].as_str().unwrap_or_default().to_string();
            if name.is_empty() || name.len() > 63 || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return error(400, "Invalid instance name");
            }
            if state.instances.contains_key(&name) {
                return error(409, "Instance already exists");
            }
            let alias = body["source"]["alias"].as_str().unwrap_or_default();
            if !IMAGES.contains(&alias) {
                return state.operation(Err(format!("Failed getting image: Image \"{alias}\" not found")));
            }
            state.instances.insert(
                name,
                Instance {
                    project,
                    status: "Stopped".into(),
                    ip: String::new(),
                    config: body["config"].clone(),
                    devices: body["devices"].clone(),
                    source: body["source"].clone(),
                    kind: body["type"].as_str().unwrap_or("container").into(),
                },
            );
            state.operation(Ok(()))
        }
        ("GET", ["1.0", "operations", id, "wait"]) => match state.operations.get(*id) {
            None => error(404, "Operation not found"),
            Some((true, _)) => sync(json!({"id": id, "status": "Success", "status_code": 200, "err": ""})),
            Some((false, err)) => sync(json!({"id": id, "status": "Failure", "status_code": 400, "err": err})),
        },
        (method, ["1.0", "instances", name, rest @ ..]) => {
            let name = name.to_string();
            let Some(instance) = state.instances.get(&name).filter(|i| i.project == project).cloned() else {
                return error(404, "Instance not found");
            };
            match (method, rest) {
                ("GET", ["state"]) => {
                    let mut network =
                        json!({"lo": {"addresses": [{"family": "inet", "address": "127.0.0.1", "scope": "local"}]}});
                    if instance.status == "Running" {
                        network["eth0"] = json!({"addresses": [
                            {"family": "inet6", "address": "fe80::1", "scope": "link"},
                            {"family": "inet", "address": instance.ip, "scope": "global"},
                        ]});
                    }
                    let code = if instance.status == "Running" { 103 } else { 102 };
                    sync(json!({"status": instance.status, "status_code": code, "network": network}))
                }
                ("PUT", ["state"]) => {
                    let body: Json = serde_json::from_slice(&request.body).unwrap_or_default();
                    let action = body["action"].as_str().unwrap_or_default();
                    let running = instance.status == "Running";
                    let outcome = match (action, running) {
                        ("start", false) => {
                            state.next_ip += 1;
                            let ip = format!("10.20.0.{}", state.next_ip + 10);
                            let entry = state.instances.get_mut(&name).unwrap();
                            entry.status = "Running".into();
                            entry.ip = ip;
                            Ok(())
                        }
                        ("stop", true) => {
                            let entry = state.instances.get_mut(&name).unwrap();
                            entry.status = "Stopped".into();
                            entry.ip.clear();
                            Ok(())
                        }
                        ("restart", true) => Ok(()),
                        ("start", true) => Err("The instance is already running".to_string()),
                        ("stop" | "restart", false) => Err("The instance is already stopped".to_string()),
                        _ => return error(400, "Invalid action"),
                    };
                    state.operation(outcome)
                }
                ("DELETE", []) => {
                    if instance.status == "Running" {
                        return state.operation(Err("Instance is running".into()));
                    }
                    state.instances.remove(&name);
                    state.operation(Ok(()))
                }
                ("GET", []) => sync(json!({"name": name, "status": instance.status, "type": instance.kind})),
                _ => error(404, "not found"),
            }
        }
        _ => error(404, "not found"),
    }
}

impl IncusServer {
    pub async fn start(pki: &Pki) -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let http =
            HttpServer::start_tls(responder(move |request, _| handle(&shared, request)), pki.mtls_acceptor()).await;
        Self { http, state }
    }

    pub fn url(&self) -> String {
        self.http.url("")
    }

    pub fn instance(&self, name: &str) -> Option<Instance> {
        self.state.lock().unwrap().instances.get(name).cloned()
    }
}
