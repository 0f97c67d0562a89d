//! Plugin types and the contract functions each must declare (spec: plugin
//! guide, "四种插件类型" and "契约函数详解").

use std::fmt;
use std::str::FromStr;

/// Every contract function takes exactly these many parameters:
/// `(merged_json, _unused)`.
pub const CONTRACT_ARITY: usize = 2;

/// Optional functions every plugin type may declare. When present they are
/// held to the same two-parameter contract.
pub const OPTIONAL_FUNCTIONS: &[&str] = &["version", "admin_page"];

const GATEWAY: &[&str] =
    &["config_schema", "initialize", "create_payment", "query_payment", "handle_callback", "refund", "health_check"];

const NOTIFIER: &[&str] = &["config_schema", "initialize", "send", "supported_events", "templates", "health_check"];

const FIRST_PARTY_PROVIDER: &[&str] = &[
    "config_schema",
    "spec_template",
    "sync_products",
    "initialize",
    "query_price",
    "create_instance",
    "get_instance_status",
    "terminate_instance",
    "execute_action",
    "health_check",
    "instance_detail_sections",
    "instance_actions",
];

const UPSTREAM_PROVIDER: &[&str] = &[
    "config_schema",
    "spec_template",
    "sync_products",
    "initialize",
    "query_price",
    "create_instance",
    "get_instance_status",
    "terminate_instance",
    "execute_action",
    "health_check",
    "instance_detail_sections",
    "instance_actions",
    "sync_upstream_instances",
    "import_upstream_instance",
    "get_upstream_balance",
];

/// The four plugin types; [`PluginType::as_str`] is the `plugin_type`
/// value the spec stores in the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PluginType {
    /// `gateway` — payment gateways, 7 functions.
    Gateway,
    /// `notifier` — notification channels, 6 functions.
    Notifier,
    /// `first_party_provider` — own infrastructure, 12 functions.
    FirstPartyProvider,
    /// `upstream_provider` — reselling from an upstream, 15 functions.
    UpstreamProvider,
}

impl PluginType {
    pub const ALL: [PluginType; 4] =
        [PluginType::Gateway, PluginType::Notifier, PluginType::FirstPartyProvider, PluginType::UpstreamProvider];

    /// The database value (`plugins.plugin_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            PluginType::Gateway => "gateway",
            PluginType::Notifier => "notifier",
            PluginType::FirstPartyProvider => "first_party_provider",
            PluginType::UpstreamProvider => "upstream_provider",
        }
    }

    /// The functions a script of this type must declare, in the spec's order.
    pub fn required_functions(self) -> &'static [&'static str] {
        match self {
            PluginType::Gateway => GATEWAY,
            PluginType::Notifier => NOTIFIER,
            PluginType::FirstPartyProvider => FIRST_PARTY_PROVIDER,
            PluginType::UpstreamProvider => UPSTREAM_PROVIDER,
        }
    }

    /// Providers follow the plain-string return convention (`"ERROR: …"`
    /// for failures); gateways and notifiers may return `Ok`/`Err`,
    /// objects or JSON strings.
    pub fn is_provider(self) -> bool {
        matches!(self, PluginType::FirstPartyProvider | PluginType::UpstreamProvider)
    }

    /// The spec's file-name rules (`{type}-{id}.rn`): `gateway-*` → gateway,
    /// `notifier-*` → notifier, `provider-rustbill` → upstream provider,
    /// any other `provider-*` → first-party provider. Returns the type and
    /// the plugin id (`yipay` for `gateway-yipay.rn`).
    pub fn from_file_name(file_name: &str) -> Option<(PluginType, String)> {
        let stem = file_name.strip_suffix(".rn")?;
        let (prefix, id) = stem.split_once('-')?;
        if id.is_empty() {
            return None;
        }
        let plugin_type = match prefix {
            "gateway" => PluginType::Gateway,
            "notifier" => PluginType::Notifier,
            "provider" if id == "rustbill" => PluginType::UpstreamProvider,
            "provider" => PluginType::FirstPartyProvider,
            _ => return None,
        };
        Some((plugin_type, id.to_string()))
    }
}

impl fmt::Display for PluginType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plugin type name nobody knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown plugin type `{0}` (expected gateway, notifier, first_party_provider or upstream_provider)")]
pub struct UnknownPluginType(pub String);

impl FromStr for PluginType {
    type Err = UnknownPluginType;

    /// Accepts the database values, plus `payment_gateway` (the name the
    /// spec's file-name table uses).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "gateway" | "payment_gateway" => Ok(PluginType::Gateway),
            "notifier" => Ok(PluginType::Notifier),
            "first_party_provider" => Ok(PluginType::FirstPartyProvider),
            "upstream_provider" => Ok(PluginType::UpstreamProvider),
            other => Err(UnknownPluginType(other.to_string())),
        }
    }
}

/// One way a script breaks its contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContractViolation {
    /// A required function is not declared. `similar` names a declared
    /// function that looks like a misspelling of it (`createPayment` for
    /// `create_payment`).
    Missing { function: String, similar: Option<String> },
    /// A contract (or optional contract) function declares the wrong
    /// number of parameters.
    WrongArity { function: String, expected: usize, found: usize },
}

impl fmt::Display for ContractViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractViolation::Missing { function, similar: None } => {
                write!(f, "missing required function `{function}`")
            }
            ContractViolation::Missing { function, similar: Some(similar) } => write!(
                f,
                "missing required function `{function}` (found `{similar}`; contract names must match exactly)"
            ),
            ContractViolation::WrongArity { function, expected, found } => write!(
                f,
                "function `{function}` declares {found} parameter(s), the contract requires {expected} \
                 (`fn {function}(config, _unused)`)"
            ),
        }
    }
}

/// Checks the declared top-level functions (`name`, parameter count)
/// against the contract of `plugin_type`.
pub fn check_contract<'a>(
    plugin_type: PluginType,
    declared: impl IntoIterator<Item = (&'a str, usize)> + Clone,
) -> Vec<ContractViolation> {
    let mut violations = Vec::new();
    let required = plugin_type.required_functions();
    for &function in required {
        match declared.clone().into_iter().find(|(name, _)| *name == function) {
            None => {
                let wanted = normalise(function);
                let similar = declared
                    .clone()
                    .into_iter()
                    .map(|(name, _)| name)
                    .find(|name| !required.contains(name) && normalise(name) == wanted)
                    .map(str::to_string);
                violations.push(ContractViolation::Missing { function: function.to_string(), similar });
            }
            Some((_, arity)) if arity != CONTRACT_ARITY => violations.push(ContractViolation::WrongArity {
                function: function.to_string(),
                expected: CONTRACT_ARITY,
                found: arity,
            }),
            Some(_) => {}
        }
    }
    for &function in OPTIONAL_FUNCTIONS {
        let arity = declared.clone().into_iter().find(|(name, _)| *name == function).map(|(_, arity)| arity);
        if let Some(arity) = arity.filter(|arity| *arity != CONTRACT_ARITY) {
            violations.push(ContractViolation::WrongArity {
                function: function.to_string(),
                expected: CONTRACT_ARITY,
                found: arity,
            });
        }
    }
    violations
}

/// `createPayment`, `create_payment`, `CreatePayment` → `createpayment`.
fn normalise(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_the_spec() {
        assert_eq!(PluginType::Gateway.required_functions().len(), 7);
        assert_eq!(PluginType::Notifier.required_functions().len(), 6);
        assert_eq!(PluginType::FirstPartyProvider.required_functions().len(), 12);
        assert_eq!(PluginType::UpstreamProvider.required_functions().len(), 15);
    }

    #[test]
    fn names_round_trip() {
        for plugin_type in PluginType::ALL {
            assert_eq!(plugin_type.as_str().parse::<PluginType>().unwrap(), plugin_type);
        }
        assert_eq!("payment_gateway".parse::<PluginType>().unwrap(), PluginType::Gateway);
        assert!("kvm".parse::<PluginType>().is_err());
    }

    #[test]
    fn file_names() {
        assert_eq!(PluginType::from_file_name("gateway-yipay.rn"), Some((PluginType::Gateway, "yipay".into())));
        assert_eq!(PluginType::from_file_name("notifier-email.rn"), Some((PluginType::Notifier, "email".into())));
        assert_eq!(
            PluginType::from_file_name("provider-rustbill.rn"),
            Some((PluginType::UpstreamProvider, "rustbill".into()))
        );
        assert_eq!(
            PluginType::from_file_name("provider-incus.rn"),
            Some((PluginType::FirstPartyProvider, "incus".into()))
        );
        assert_eq!(PluginType::from_file_name("readme.md"), None);
        assert_eq!(PluginType::from_file_name("gateway-.rn"), None);
    }

    #[test]
    fn misnamed_function_is_reported_with_its_lookalike() {
        let declared = [
            ("config_schema", 2),
            ("initialize", 1),
            ("createPayment", 2),
            ("query_payment", 2),
            ("handle_callback", 2),
            ("refund", 2),
            ("health_check", 2),
            ("version", 0),
        ];
        let violations = check_contract(PluginType::Gateway, declared.iter().map(|(n, a)| (*n, *a)));
        assert_eq!(
            violations,
            vec![
                ContractViolation::WrongArity { function: "initialize".into(), expected: 2, found: 1 },
                ContractViolation::Missing { function: "create_payment".into(), similar: Some("createPayment".into()) },
                ContractViolation::WrongArity { function: "version".into(), expected: 2, found: 0 },
            ]
        );
    }
}
