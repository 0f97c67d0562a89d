//! An Incus API server on loopback, for the provider's tests.
//!
//! - **TLS as `incusd` does it**: the server asks for a client certificate,
//!   accepts any (the handshake signature is still verified) and decides
//!   trust by the certificate's SHA-256 fingerprint, like Incus's trust
//!   store: an unknown certificate gets `auth: "untrusted"` from `GET /1.0`
//!   and 403 everywhere else.
//! - **The REST envelopes** of `/1.0`: sync (`type: sync`, 200), async (202,
//!   `type: async`, `status_code: 100`, `operation: /1.0/operations/<uuid>`)
//!   and errors (`type: error`, `error`, `error_code`).
//! - **Operations** are asynchronous: `GET /1.0/operations/<id>/wait?timeout=N`
//!   answers 200 with the operation once it is final, or after N seconds
//!   with it still `Running` (Incus's behaviour; a failed operation is
//!   `status: Failure`, `status_code: 400`, `err`). Tests may hold new
//!   operations until they release them.
//! - **Instances** live in memory per project with their state machine
//!   (Stopped → Running → Stopped, deleted), the error texts of Incus
//!   ("The instance is already stopped", "Instance is running", …), an
//!   address on eth0 once running (or when a test hands one out), and a
//!   `docker0` bridge inside the guest that sorts before `eth0`.
//! - Every request is **recorded** (method, path, query, JSON body, whether
//!   the client was trusted).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value as Json, json};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::client::danger::HandshakeSignatureValid;
use tokio_rustls::rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use tokio_rustls::rustls::pki_types::{CertificateDer, UnixTime};
use tokio_rustls::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use tokio_rustls::rustls::{self, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme};

use super::certs::{ServerIdentity, fingerprint, fingerprint_of_pem};

/// Images present on the server (local aliases).
pub const IMAGES: &[&str] = &["debian/12", "ubuntu/24.04"];
/// Projects on the server.
pub const PROJECTS: &[&str] = &["default", "customers"];
/// Storage pools on the server.
pub const POOLS: &[&str] = &["default", "fast"];

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The JSON body (`null` when there was none).
    pub body: Json,
    /// Whether the client certificate was in the trust store.
    pub trusted: bool,
}

/// An instance as the server keeps it.
#[derive(Debug, Clone)]
pub struct Instance {
    pub project: String,
    pub name: String,
    /// `container` or `virtual-machine`.
    pub kind: String,
    /// `Running` or `Stopped`.
    pub status: String,
    pub config: Json,
    pub devices: Json,
    pub profiles: Json,
    pub source: Json,
    pub description: String,
    /// The guest's IPv4 on eth0 ("" until it has one).
    pub ipv4: String,
    /// Restarts done.
    pub restarts: u32,
}

#[derive(Debug, Clone)]
enum Effect {
    Create(Box<Instance>),
    Start(String, String),
    Stop(String, String),
    Restart(String, String),
    Delete(String, String),
    /// PATCH: config keys merged, the devices given replaced.
    Update(String, String, Json),
    Fail(String),
}

#[derive(Debug)]
struct Operation {
    id: String,
    description: String,
    project: String,
    resource: String,
    /// `None` while running; then `Ok` or the error text.
    outcome: Option<Result<(), String>>,
    effect: Effect,
}

impl Operation {
    fn render(&self) -> Json {
        let (status, code, err) = match &self.outcome {
            None => ("Running", 103, String::new()),
            Some(Ok(())) => ("Success", 200, String::new()),
            Some(Err(error)) => ("Failure", 400, error.clone()),
        };
        json!({
            "id": self.id, "class": "task", "description": self.description,
            "created_at": "2026-11-24T00:00:00Z", "updated_at": "2026-11-24T00:00:00Z",
            "status": status, "status_code": code,
            "resources": {"instances": [format!("/1.0/instances/{}?project={}", self.resource, self.project)]},
            "metadata": null, "may_cancel": false, "err": err, "location": "none",
        })
    }
}

#[derive(Debug, Default)]
struct State {
    instances: BTreeMap<(String, String), Instance>,
    operations: HashMap<String, Operation>,
    /// Operation ids in creation order.
    order: Vec<String>,
    requests: Vec<Recorded>,
    trusted: BTreeSet<String>,
    hold: bool,
    /// Answer waits the way LXD does (see [`IncusServer::lxd_style_waits`]).
    lxd_waits: bool,
    /// Hand out an address when an instance starts (else tests do).
    dhcp: bool,
    next_address: u32,
}

impl State {
    fn key(project: &str, name: &str) -> (String, String) {
        (project.to_string(), name.to_string())
    }

    fn address(&mut self) -> String {
        self.next_address += 1;
        format!("10.89.0.{}", 10 + self.next_address)
    }

    fn apply(&mut self, effect: &Effect) -> Result<(), String> {
        match effect {
            Effect::Create(instance) => {
                let key = Self::key(&instance.project, &instance.name);
                if self.instances.contains_key(&key) {
                    return Err(format!("Instance {:?} already exists", instance.name));
                }
                self.instances.insert(key, (**instance).clone());
                Ok(())
            }
            Effect::Start(project, name) => {
                let address = if self.dhcp { self.address() } else { String::new() };
                let instance = self.instance_mut(project, name)?;
                if instance.status == "Running" {
                    return Err("The instance is already running".into());
                }
                instance.status = "Running".into();
                instance.ipv4 = address;
                Ok(())
            }
            Effect::Stop(project, name) => {
                let instance = self.instance_mut(project, name)?;
                if instance.status != "Running" {
                    return Err("The instance is already stopped".into());
                }
                instance.status = "Stopped".into();
                instance.ipv4.clear();
                Ok(())
            }
            Effect::Restart(project, name) => {
                let instance = self.instance_mut(project, name)?;
                if instance.status != "Running" {
                    return Err("The instance isn't running".into());
                }
                instance.restarts += 1;
                Ok(())
            }
            Effect::Delete(project, name) => {
                let instance = self.instance_mut(project, name)?;
                if instance.status == "Running" {
                    return Err("Instance is running".into());
                }
                self.instances.remove(&Self::key(project, name));
                Ok(())
            }
            Effect::Update(project, name, patch) => {
                let instance = self.instance_mut(project, name)?;
                if let (Some(config), Some(changes)) = (instance.config.as_object_mut(), patch["config"].as_object()) {
                    for (key, value) in changes {
                        config.insert(key.clone(), value.clone());
                    }
                }
                if let (Some(devices), Some(changes)) = (instance.devices.as_object_mut(), patch["devices"].as_object())
                {
                    for (key, value) in changes {
                        devices.insert(key.clone(), value.clone());
                    }
                }
                Ok(())
            }
            Effect::Fail(error) => Err(error.clone()),
        }
    }

    fn instance_mut(&mut self, project: &str, name: &str) -> Result<&mut Instance, String> {
        self.instances.get_mut(&Self::key(project, name)).ok_or_else(|| "Instance not found".to_string())
    }

    /// Starts an operation: done at once unless operations are held.
    fn operation(&mut self, description: &str, project: &str, resource: &str, effect: Effect) -> Reply {
        let id = uuid::Uuid::new_v4().to_string();
        let mut operation = Operation {
            id: id.clone(),
            description: description.to_string(),
            project: project.to_string(),
            resource: resource.to_string(),
            outcome: None,
            effect,
        };
        if !self.hold {
            operation.outcome = Some(self.apply(&operation.effect));
        }
        let rendered = operation.render();
        self.operations.insert(id.clone(), operation);
        self.order.push(id.clone());
        Reply::new(
            202,
            json!({
                "type": "async", "status": "Operation created", "status_code": 100,
                "operation": format!("/1.0/operations/{id}"), "error_code": 0, "error": "",
                "metadata": rendered,
            }),
        )
    }
}

struct Reply {
    status: u16,
    body: Json,
}

impl Reply {
    fn new(status: u16, body: Json) -> Self {
        Self { status, body }
    }
}

fn sync(metadata: Json) -> Reply {
    Reply::new(
        200,
        json!({"type": "sync", "status": "Success", "status_code": 200, "operation": "",
               "error_code": 0, "error": "", "metadata": metadata}),
    )
}

fn error(code: u16, message: &str) -> Reply {
    Reply::new(
        code,
        json!({"type": "error", "status": "", "status_code": 0, "operation": "",
               "error_code": code, "error": message, "metadata": null}),
    )
}

pub struct IncusServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    changed: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for IncusServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl IncusServer {
    /// Serves on 127.0.0.1 with `identity`, trusting `trusted_cert_pem`.
    pub async fn start(identity: &ServerIdentity, trusted_cert_pem: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { dhcp: true, ..State::default() }));
        state.lock().unwrap().trusted.insert(fingerprint_of_pem(trusted_cert_pem));
        let changed = Arc::new(Notify::new());
        let acceptor = acceptor(identity);
        let task = tokio::spawn({
            let state = state.clone();
            let changed = changed.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { continue };
                    let acceptor = acceptor.clone();
                    let state = state.clone();
                    let changed = changed.clone();
                    tokio::spawn(async move {
                        // A client whose certificate chain or signature is
                        // broken fails here; an unknown one gets through.
                        let Ok(tls) = acceptor.accept(stream).await else { return };
                        let peer = tls.get_ref().1.peer_certificates().and_then(|chain| chain.first().cloned());
                        let client = peer.map(|cert| fingerprint(cert.as_ref()));
                        serve(TokioIo::new(tls), client, state, changed).await;
                    });
                }
            }
        });
        Self { addr, state, changed, task }
    }

    /// `https://<host>:<port>` of this server.
    pub fn url(&self, host: &str) -> String {
        format!("https://{host}:{}", self.addr.port())
    }

    /// Adds a certificate to the trust store.
    pub fn trust(&self, cert_pem: &str) {
        self.state.lock().unwrap().trusted.insert(fingerprint_of_pem(cert_pem));
    }

    /// New operations stay `Running` until [`Self::release`] (true), or
    /// finish as they are created (false, the default).
    pub fn hold_operations(&self, hold: bool) {
        self.state.lock().unwrap().hold = hold;
    }

    /// Finishes every running operation, oldest first.
    pub fn release(&self) {
        {
            let mut state = self.state.lock().unwrap();
            let order = state.order.clone();
            for id in order {
                let Some(effect) =
                    state.operations.get(&id).filter(|operation| operation.outcome.is_none()).map(|o| o.effect.clone())
                else {
                    continue;
                };
                let outcome = state.apply(&effect);
                state.operations.get_mut(&id).unwrap().outcome = Some(outcome);
            }
        }
        self.changed.notify_waiters();
    }

    /// LXD's `/wait` (and older Incus releases'): a failed operation is an
    /// error envelope (`type: error`, `error`), and so is a wait that
    /// timed out (`context deadline exceeded`), both after a 200 status.
    pub fn lxd_style_waits(&self, lxd: bool) {
        self.state.lock().unwrap().lxd_waits = lxd;
    }

    /// Whether started guests get an address at once (true, the default).
    pub fn set_dhcp(&self, dhcp: bool) {
        self.state.lock().unwrap().dhcp = dhcp;
    }

    /// Hands a running guest its address, as a late DHCP lease would.
    pub fn give_address(&self, project: &str, name: &str) -> String {
        let mut state = self.state.lock().unwrap();
        let address = state.address();
        state.instance_mut(project, name).expect("instance").ipv4 = address.clone();
        address
    }

    pub fn instance(&self, project: &str, name: &str) -> Option<Instance> {
        self.state.lock().unwrap().instances.get(&State::key(project, name)).cloned()
    }

    pub fn instances_named(&self) -> Vec<String> {
        self.state.lock().unwrap().instances.values().map(|instance| instance.name.clone()).collect()
    }

    pub fn instance_count(&self) -> usize {
        self.state.lock().unwrap().instances.len()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Requests whose method is `method` and whose path ends with `suffix`.
    pub fn requests_to(&self, method: &str, suffix: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.method == method && r.path.ends_with(suffix)).collect()
    }

    /// Operations not finished yet.
    pub fn running_operations(&self) -> usize {
        self.state.lock().unwrap().operations.values().filter(|operation| operation.outcome.is_none()).count()
    }
}

fn acceptor(identity: &ServerIdentity) -> TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(Arc::new(AnyClientCertificate { provider }))
        .with_single_cert(vec![identity.cert_der()], identity.key_der())
        .unwrap();
    TlsAcceptor::from(Arc::new(config))
}

/// Incus's `tls.RequestClientCert`: any certificate is accepted at the TLS
/// level (its handshake signature is checked); trust is decided later.
#[derive(Debug)]
struct AnyClientCertificate {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyClientCertificate {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

async fn serve<I>(io: I, client: Option<String>, state: Arc<Mutex<State>>, changed: Arc<Notify>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request: Request<Incoming>| {
        let state = state.clone();
        let changed = changed.clone();
        let client = client.clone();
        async move {
            let (parts, body) = request.into_parts();
            let bytes = body.collect().await.map(|collected| collected.to_bytes()).unwrap_or_default();
            let query: BTreeMap<String, String> =
                form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes()).into_owned().collect();
            let recorded = {
                let mut state = state.lock().unwrap();
                let trusted = client.as_ref().is_some_and(|fingerprint| state.trusted.contains(fingerprint));
                let recorded = Recorded {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_string(),
                    query,
                    body: serde_json::from_slice(&bytes).unwrap_or(Json::Null),
                    trusted,
                };
                state.requests.push(recorded.clone());
                recorded
            };
            changed.notify_waiters();
            let reply = handle(&state, &changed, &recorded, &bytes).await;
            let response = Response::builder()
                .status(reply.status)
                .header("content-type", "application/json")
                .body(Full::new(Bytes::from(reply.body.to_string())))
                .unwrap();
            Ok::<_, Infallible>(response)
        }
    });
    hyper::server::conn::http1::Builder::new().serve_connection(io, service).await.ok();
}

async fn handle(state: &Mutex<State>, changed: &Notify, request: &Recorded, raw_body: &[u8]) -> Reply {
    let segments: Vec<String> = request
        .path
        .trim_start_matches('/')
        .split('/')
        .map(|segment| urlencoding::decode(segment).map(|s| s.into_owned()).unwrap_or_default())
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = request.method.as_str();
    if (method, segments.as_slice()) == ("GET", ["1.0"].as_slice()) {
        return server_info(request.trusted);
    }
    if !request.trusted {
        return error(403, "Forbidden");
    }
    if let ("GET", ["1.0", "operations", id, "wait"]) = (method, segments.as_slice()) {
        return wait(state, changed, id, request.query.get("timeout")).await;
    }
    let mut state = state.lock().unwrap();
    let project = request.query.get("project").cloned().unwrap_or_else(|| "default".to_string());
    match (method, segments.as_slice()) {
        ("GET", ["1.0", "projects", name]) => match PROJECTS.contains(name) {
            true => sync(json!({"name": name, "description": "", "config": {}, "used_by": []})),
            false => error(404, "Project not found"),
        },
        ("GET", ["1.0", "operations", id]) => match state.operations.get(*id) {
            Some(operation) => sync(operation.render()),
            None => error(404, "Operation not found"),
        },
        (_, ["1.0", "instances", ..]) if !PROJECTS.contains(&project.as_str()) => error(404, "Project not found"),
        ("POST", ["1.0", "instances"]) => create(&mut state, &project, raw_body),
        (method, ["1.0", "instances", name, rest @ ..]) => {
            let name = name.to_string();
            let Some(instance) = state.instances.get(&State::key(&project, &name)).cloned() else {
                // Incus wraps the database's 404 (instance.LoadByProjectAndName).
                return error(
                    404,
                    &format!("Failed to fetch instance {name:?} in project {project:?}: Instance not found"),
                );
            };
            match (method, rest) {
                ("GET", []) => sync(render_instance(&instance)),
                ("GET", ["state"]) => sync(render_state(&instance)),
                ("PUT", ["state"]) => {
                    let action = request.body["action"].as_str().unwrap_or_default();
                    let effect = match action {
                        "start" => Effect::Start(project.clone(), name.clone()),
                        "stop" => Effect::Stop(project.clone(), name.clone()),
                        "restart" => Effect::Restart(project.clone(), name.clone()),
                        "freeze" | "unfreeze" => Effect::Fail("Freezing is not supported here".into()),
                        other => return error(400, &format!("Unknown action {other}")),
                    };
                    state.operation(&format!("Changing instance state ({action})"), &project, &name, effect)
                }
                ("PATCH", []) => state.operation(
                    "Updating instance",
                    &project,
                    &name,
                    Effect::Update(project.clone(), name.clone(), request.body.clone()),
                ),
                ("DELETE", []) => {
                    if instance.status == "Running" {
                        return error(400, "Instance is running");
                    }
                    state.operation("Deleting instance", &project, &name, Effect::Delete(project.clone(), name.clone()))
                }
                _ => error(404, "not found"),
            }
        }
        _ => error(404, "not found"),
    }
}

fn server_info(trusted: bool) -> Reply {
    let mut info = json!({
        "api_extensions": ["instances", "projects", "operation_wait"],
        "api_status": "stable", "api_version": "1.0",
        "auth": if trusted { "trusted" } else { "untrusted" },
        "auth_methods": ["tls"], "public": false,
    });
    if trusted {
        info["environment"] = json!({"server": "incus", "server_version": "6.0.0", "project": "default"});
    }
    sync(info)
}

/// `POST /1.0/instances`: checked at once as Incus does (body, name,
/// duplicates), then created by an operation (image and pool are checked
/// there, as Incus does).
fn create(state: &mut State, project: &str, raw_body: &[u8]) -> Reply {
    let body: Json = match serde_json::from_slice(raw_body) {
        Ok(body) => body,
        Err(parse) => return error(400, &parse.to_string()),
    };
    let name = body["name"].as_str().unwrap_or_default().to_string();
    if let Err(reason) = valid_name(&name) {
        return error(400, &format!("Invalid instance name: {reason}"));
    }
    if state.instances.contains_key(&State::key(project, &name)) {
        // Incus: fmt.Errorf("Instance %q already exists") through SmartError.
        return error(500, &format!("Instance {name:?} already exists"));
    }
    let source = body["source"].clone();
    let alias = source["alias"].as_str().unwrap_or_default();
    let pool = body["devices"]["root"]["pool"].as_str().unwrap_or("default");
    let effect = if source["type"] != "image" {
        Effect::Fail(format!("Unknown source type {}", source["type"]))
    } else if !IMAGES.contains(&alias) {
        // Incus: no local image for the alias reaches createFromImage as nil.
        Effect::Fail("Image not provided for instance creation".into())
    } else if !POOLS.contains(&pool) {
        Effect::Fail("Failed creating instance record: Failed loading storage pool: Storage pool not found".into())
    } else {
        Effect::Create(Box::new(Instance {
            project: project.to_string(),
            name: name.clone(),
            kind: body["type"].as_str().unwrap_or("container").to_string(),
            status: "Stopped".into(),
            config: body["config"].clone(),
            devices: body["devices"].clone(),
            profiles: body["profiles"].clone(),
            source,
            description: body["description"].as_str().unwrap_or_default().to_string(),
            ipv4: String::new(),
            restarts: 0,
        }))
    };
    state.operation("Creating instance", project, &name, effect)
}

/// Incus's `ValidHostname`.
fn valid_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 63 {
        return Err("Name must be 1-63 characters long");
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("Name must not start or end with a \"-\" character");
    }
    if name.parse::<u64>().is_ok() {
        return Err("Name cannot be a number");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("Name can only contain alphanumeric and hyphen characters");
    }
    Ok(())
}

/// `GET /1.0/operations/<id>/wait?timeout=N`, as Incus answers it: 200 with
/// the operation once final or when the timeout passed (still `Running`).
async fn wait(state: &Mutex<State>, changed: &Notify, id: &str, timeout: Option<&String>) -> Reply {
    // -1 (or nothing) waits forever in Incus; a test server gives up after 30 s.
    let seconds = timeout.and_then(|t| t.parse::<i64>().ok()).filter(|s| *s >= 0).unwrap_or(30);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds as u64);
    loop {
        let notified = changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let state = state.lock().unwrap();
            let Some(operation) = state.operations.get(id) else {
                return error(404, "Operation not found");
            };
            if operation.outcome.is_some() || tokio::time::Instant::now() >= deadline {
                if !state.lxd_waits {
                    return sync(operation.render());
                }
                let failed = |code: u16, message: &str| Reply { status: 200, ..error(code, message) };
                return match &operation.outcome {
                    Some(Ok(())) => sync(operation.render()),
                    Some(Err(reason)) => failed(400, reason),
                    None => failed(500, "context deadline exceeded"),
                };
            }
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

fn render_instance(instance: &Instance) -> Json {
    let mut config = instance.config.as_object().cloned().unwrap_or_default();
    let alias = instance.source["alias"].as_str().unwrap_or_default();
    config.insert("image.description".into(), json!(format!("{} amd64 (20261101_05:24)", image_description(alias))));
    config.insert("volatile.base_image".into(), json!("6f1c1b7c1d0e"));
    let mut expanded_devices = instance.devices.as_object().cloned().unwrap_or_default();
    expanded_devices.entry("eth0").or_insert_with(|| json!({"type": "nic", "name": "eth0", "network": "incusbr0"}));
    json!({
        "name": instance.name, "project": instance.project, "type": instance.kind,
        "status": instance.status, "status_code": status_code(&instance.status),
        "description": instance.description, "architecture": "x86_64",
        "created_at": "2026-11-24T00:00:00Z", "last_used_at": "2026-11-24T00:00:00Z",
        "config": config, "devices": instance.devices, "expanded_config": config,
        "expanded_devices": expanded_devices, "profiles": instance.profiles,
        "ephemeral": false, "stateful": false, "location": "none",
    })
}

fn image_description(alias: &str) -> &'static str {
    match alias {
        "debian/12" => "Debian bookworm",
        "ubuntu/24.04" => "Ubuntu noble",
        _ => "Unknown",
    }
}

fn status_code(status: &str) -> u16 {
    match status {
        "Running" => 103,
        _ => 102,
    }
}

fn render_state(instance: &Instance) -> Json {
    let mut network = Map::new();
    network.insert(
        "lo".into(),
        json!({"type": "loopback", "state": "up", "hwaddr": "", "mtu": 65536, "addresses": [
            {"family": "inet", "address": "127.0.0.1", "netmask": "8", "scope": "local"},
            {"family": "inet6", "address": "::1", "netmask": "128", "scope": "local"},
        ]}),
    );
    if instance.status == "Running" {
        // Docker inside the guest: a bridge with a global address whose
        // name sorts before eth0.
        network.insert(
            "docker0".into(),
            json!({"type": "broadcast", "state": "up", "hwaddr": "02:42:ac:11:00:01", "mtu": 1500, "addresses": [
                {"family": "inet", "address": "172.17.0.1", "netmask": "16", "scope": "global"},
            ]}),
        );
        let mut addresses = Vec::new();
        if !instance.ipv4.is_empty() {
            addresses.push(json!({"family": "inet", "address": instance.ipv4, "netmask": "24", "scope": "global"}));
            addresses.push(json!({"family": "inet6", "address": "fd42:7c1e::10", "netmask": "64", "scope": "global"}));
        }
        addresses
            .push(json!({"family": "inet6", "address": "fe80::216:3eff:fe00:1", "netmask": "64", "scope": "link"}));
        network.insert(
            "eth0".into(),
            json!({"type": "broadcast", "state": "up", "hwaddr": "00:16:3e:00:00:01", "mtu": 1500,
                   "host_name": "veth1a2b3c4d", "addresses": addresses}),
        );
    }
    let running = instance.status == "Running";
    json!({
        "status": instance.status, "status_code": status_code(&instance.status),
        "pid": if running { 4242 } else { 0 }, "processes": if running { 12 } else { -1 },
        "cpu": {"usage": 1000000}, "memory": {"usage": 52428800, "usage_peak": 0, "swap_usage": 0},
        "disk": {"root": {"usage": 524288000}}, "network": network,
    })
}
