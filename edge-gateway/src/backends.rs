//! Which service owns which protobuf package, and where each one listens.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use rustbill_shared::Config;
use tonic::transport::{Channel, Endpoint};

/// A service binary the edge routes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Backend {
    /// `rustbill-identity`: packages identity, customer, downstream, system.
    Identity,
    /// `rustbill-catalog`: package product.
    Catalog,
    /// `rustbill-orders`: packages order, billing, instance.
    Orders,
    /// `rustbill-payments`: packages payment, balance.
    Payments,
    /// `rustbill-plugins`: package integration.
    Plugins,
    /// `rustbill-notify`: packages notification, ticket.
    Notify,
}

impl Backend {
    /// Every backend, in a stable order.
    pub const ALL: [Backend; 6] =
        [Self::Identity, Self::Catalog, Self::Orders, Self::Payments, Self::Plugins, Self::Notify];

    /// The backend's name, as in `[services.<name>]`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Identity => "identity",
            Self::Catalog => "catalog",
            Self::Orders => "orders",
            Self::Payments => "payments",
            Self::Plugins => "plugins",
            Self::Notify => "notify",
        }
    }

    /// The public protobuf packages (`rustbill.<package>`) this backend owns.
    pub fn packages(self) -> &'static [&'static str] {
        match self {
            Self::Identity => &["identity", "customer", "downstream", "system"],
            Self::Catalog => &["product"],
            Self::Orders => &["order", "billing", "instance"],
            Self::Payments => &["payment", "balance"],
            Self::Plugins => &["integration"],
            Self::Notify => &["notification", "ticket"],
        }
    }

    /// The owner of public package `rustbill.<package>`.
    pub fn for_package(package: &str) -> Option<Backend> {
        Self::ALL.into_iter().find(|backend| backend.packages().contains(&package))
    }

    /// The owner of a fully qualified public service name such as
    /// `rustbill.identity.IdentityService`.
    pub fn for_service(service: &str) -> Option<Backend> {
        let rest = service.strip_prefix("rustbill.")?;
        let (package, _) = rest.split_once('.')?;
        Self::for_package(package)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|backend| backend.name() == name).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown backend {name:?} (expected identity, catalog, orders, payments, plugins or notify)"
            )
        })
    }
}

/// Where each backend listens: `backend → http://host:port`. A backend
/// that is not set is "not configured": its RPCs answer `Unavailable`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backends {
    urls: BTreeMap<Backend, String>,
}

impl Backends {
    /// Every backend from `[services.<name>].url` (empty URLs are skipped).
    pub fn from_config(config: &Config) -> Self {
        let services = &config.services;
        let mut backends = Self::default();
        for (backend, url) in [
            (Backend::Identity, &services.identity.url),
            (Backend::Catalog, &services.catalog.url),
            (Backend::Orders, &services.orders.url),
            (Backend::Payments, &services.payments.url),
            (Backend::Plugins, &services.plugins.url),
            (Backend::Notify, &services.notify.url),
        ] {
            if !url.trim().is_empty() {
                backends.set(backend, url.trim());
            }
        }
        backends
    }

    /// The same set with `backend` at `url` (builder style).
    pub fn with(mut self, backend: Backend, url: impl Into<String>) -> Self {
        self.set(backend, url);
        self
    }

    /// Sets where `backend` listens.
    pub fn set(&mut self, backend: Backend, url: impl Into<String>) {
        self.urls.insert(backend, url.into());
    }

    /// Forgets `backend`: its RPCs will answer `Unavailable`.
    pub fn remove(&mut self, backend: Backend) {
        self.urls.remove(&backend);
    }

    /// Where `backend` listens, when configured.
    pub fn url(&self, backend: Backend) -> Option<&str> {
        self.urls.get(&backend).map(String::as_str)
    }

    /// Every configured backend and its URL.
    pub fn iter(&self) -> impl Iterator<Item = (Backend, &str)> {
        self.urls.iter().map(|(backend, url)| (*backend, url.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.urls.is_empty()
    }
}

/// Lazily connected HTTP/2 channels, one per configured backend.
#[derive(Debug, Clone, Default)]
pub(crate) struct Channels {
    channels: BTreeMap<Backend, Channel>,
}

/// How long the edge waits for a TCP connection to a backend.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

impl Channels {
    pub(crate) fn connect_lazy(backends: &Backends) -> anyhow::Result<Self> {
        let mut channels = BTreeMap::new();
        for (backend, url) in backends.iter() {
            let endpoint = Endpoint::from_shared(url.to_string())
                .with_context(|| format!("[services.{backend}].url {url:?} is not a valid URL"))?
                .connect_timeout(CONNECT_TIMEOUT)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_timeout(Duration::from_secs(10));
            channels.insert(backend, endpoint.connect_lazy());
        }
        Ok(Self { channels })
    }

    pub(crate) fn get(&self, backend: Backend) -> Option<&Channel> {
        self.channels.get(&backend)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (Backend, &Channel)> {
        self.channels.iter().map(|(backend, channel)| (*backend, channel))
    }
}

/// Where a request path goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// A public RPC `/rustbill.<pkg>.<Service>/<Method>` owned by a backend.
    Backend(Backend),
    /// `/rustbill.internal.*`: never routed.
    Internal,
    /// `/rustbill.<pkg>.*` with a package nobody owns.
    UnknownService,
    /// `grpc.health.v1.Health`, served by the edge itself.
    Health,
    /// `grpc.reflection.v1.ServerReflection`, served by the edge itself.
    ReflectionV1,
    /// `grpc.reflection.v1alpha.ServerReflection`, served by the edge itself.
    ReflectionV1Alpha,
    /// Anything else.
    NotFound,
}

impl Route {
    pub(crate) fn of(path: &str) -> Route {
        let Some((service, method)) = path.strip_prefix('/').and_then(|rest| rest.split_once('/')) else {
            return Route::NotFound;
        };
        if method.is_empty() || method.contains('/') {
            return Route::NotFound;
        }
        if service.starts_with("rustbill.internal.") || service == "rustbill.internal" {
            return Route::Internal;
        }
        match service {
            "grpc.health.v1.Health" => return Route::Health,
            "grpc.reflection.v1.ServerReflection" => return Route::ReflectionV1,
            "grpc.reflection.v1alpha.ServerReflection" => return Route::ReflectionV1Alpha,
            _ => {}
        }
        if let Some(rest) = service.strip_prefix("rustbill.") {
            return match rest.split_once('.') {
                Some((package, name)) if !name.is_empty() => {
                    Backend::for_package(package).map_or(Route::UnknownService, Route::Backend)
                }
                _ => Route::UnknownService,
            };
        }
        Route::NotFound
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packages_route_to_their_owner() {
        let cases = [
            ("identity", Backend::Identity),
            ("customer", Backend::Identity),
            ("downstream", Backend::Identity),
            ("system", Backend::Identity),
            ("product", Backend::Catalog),
            ("order", Backend::Orders),
            ("billing", Backend::Orders),
            ("instance", Backend::Orders),
            ("payment", Backend::Payments),
            ("balance", Backend::Payments),
            ("integration", Backend::Plugins),
            ("notification", Backend::Notify),
            ("ticket", Backend::Notify),
        ];
        for (package, backend) in cases {
            assert_eq!(Backend::for_package(package), Some(backend), "{package}");
            assert_eq!(Route::of(&format!("/rustbill.{package}.SomeService/Call")), Route::Backend(backend));
        }
    }

    #[test]
    fn every_public_service_has_an_owner() {
        for service in rustbill_proto::PUBLIC_SERVICES {
            assert!(Backend::for_service(service).is_some(), "{service} has no backend");
        }
    }

    #[test]
    fn internal_and_odd_paths_are_never_routed() {
        assert_eq!(Route::of("/rustbill.internal.auth.AuthService/Resolve"), Route::Internal);
        assert_eq!(Route::of("/rustbill.internal.balances.Balances/Get"), Route::Internal);
        assert_eq!(Route::of("/rustbill.internal.system.SystemPartService/Dashboard"), Route::Internal);
        assert_eq!(Route::of("/rustbill.nope.NopeService/Call"), Route::UnknownService);
        assert_eq!(Route::of("/rustbill.identity/Call"), Route::UnknownService);
        assert_eq!(Route::of("/rustbill.identity.IdentityService/"), Route::NotFound);
        assert_eq!(Route::of("/rustbill.identity.IdentityService/Login/x"), Route::NotFound);
        assert_eq!(Route::of("/"), Route::NotFound);
        assert_eq!(Route::of("/favicon.ico"), Route::NotFound);
        assert_eq!(Route::of("/grpc.health.v1.Health/Check"), Route::Health);
        assert_eq!(Route::of("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"), Route::ReflectionV1);
        assert_eq!(
            Route::of("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"),
            Route::ReflectionV1Alpha
        );
    }

    #[test]
    fn backends_come_from_config_and_builders() {
        let mut config = Config::default();
        let backends = Backends::from_config(&config);
        // By default every service is deployed on its local port.
        assert_eq!(backends.url(Backend::Identity), Some("http://127.0.0.1:50061"));
        assert_eq!(backends.url(Backend::Payments), Some("http://127.0.0.1:50064"));
        assert_eq!(backends.url(Backend::Catalog), Some("http://127.0.0.1:50062"));
        assert_eq!(backends.url(Backend::Plugins), Some("http://127.0.0.1:50065"));
        assert_eq!(backends.url(Backend::Orders), Some("http://127.0.0.1:50063"));
        assert_eq!(backends.url(Backend::Notify), Some("http://127.0.0.1:50066"));
        assert_eq!(backends.iter().count(), 6);
        config.services.notify.url = String::new();
        assert_eq!(Backends::from_config(&config).url(Backend::Notify), None, "an empty url: not deployed");
        let custom = Backends::default().with(Backend::Identity, "http://127.0.0.1:1");
        assert_eq!(custom.url(Backend::Identity), Some("http://127.0.0.1:1"));
        assert_eq!(custom.url(Backend::Catalog), None);
        assert_eq!("orders".parse::<Backend>().unwrap(), Backend::Orders);
        assert!("order".parse::<Backend>().is_err());
    }
}
