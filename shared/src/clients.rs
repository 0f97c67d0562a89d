//! Typed gRPC clients between services: a lazily connected channel to
//! another service plus the signed principal every internal call carries.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use crate::error::AppError;
use crate::principal::{Caller, InternalSigner};

/// A channel to one other service (`target`), calling as service `source`.
#[derive(Debug, Clone)]
pub struct InternalChannel {
    channel: Option<Channel>,
    signer: InternalSigner,
    source: &'static str,
    target: &'static str,
}

impl InternalChannel {
    /// An empty `url` means the target is not deployed: every call answers
    /// `Unavailable` saying so.
    pub fn new(source: &'static str, target: &'static str, url: &str, signer: InternalSigner) -> Self {
        let channel = (!url.trim().is_empty())
            .then(|| {
                Endpoint::from_shared(url.trim().to_string())
                    .map(|endpoint| {
                        endpoint
                            .connect_timeout(Duration::from_secs(2))
                            .tcp_nodelay(true)
                            .http2_keep_alive_interval(Duration::from_secs(30))
                            .connect_lazy()
                    })
                    .map_err(|error| tracing::error!(url, %error, target, "bad service url"))
                    .ok()
            })
            .flatten();
        Self { channel, signer, source, target }
    }

    pub fn is_deployed(&self) -> bool {
        self.channel.is_some()
    }

    pub fn channel(&self) -> Result<Channel, AppError> {
        self.channel
            .clone()
            .ok_or_else(|| AppError::Unavailable(format!("the {} service is not deployed", self.target)))
    }

    /// `message` signed as this service acting for `cause` (request id,
    /// client address and trace are kept).
    pub fn request<T>(&self, cause: &Caller, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        self.signer.attach(&Caller::service(self.source, cause), &mut request);
        request
    }

    /// An error of the target as this service's error: codes that describe
    /// the caller's input or the target's state are kept with their message;
    /// anything else (transport, internal) is `Unavailable`.
    pub fn forwarded(&self, status: tonic::Status) -> AppError {
        forwarded(self.target, status)
    }
}

/// See [`InternalChannel::forwarded`].
pub fn forwarded(target: &str, status: tonic::Status) -> AppError {
    let message = status.message().to_string();
    match status.code() {
        tonic::Code::NotFound => AppError::NotFound(message),
        tonic::Code::InvalidArgument => AppError::invalid(message),
        tonic::Code::FailedPrecondition => AppError::FailedPrecondition(message),
        tonic::Code::AlreadyExists => AppError::AlreadyExists(message),
        tonic::Code::PermissionDenied => AppError::PermissionDenied(message),
        tonic::Code::Unimplemented => AppError::Unimplemented(message),
        code => {
            tracing::warn!(target, ?code, message, "service call failed");
            AppError::Unavailable(format!("the {target} service is unavailable, try again"))
        }
    }
}
