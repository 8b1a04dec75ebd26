//! Who is talking: the OpenTelemetry resource (this machine and ringside) and the
//! instrumentation scope every record is sent under.

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::config::OtlpConfig;

pub fn resource(config: &OtlpConfig) -> Resource {
    let mut attributes: Vec<(String, String)> = Vec::new();
    let mut set = |key: &str, value: String| {
        attributes.retain(|(existing, _)| existing != key);
        attributes.push((key.to_owned(), value));
    };
    if let Ok(name) = nix::unistd::gethostname() {
        set("host.name", name.to_string_lossy().into_owned());
    }
    if let Ok(id) = std::fs::read_to_string("/etc/machine-id") {
        set("host.id", id.trim().to_owned());
    }
    set("os.type", "linux".to_owned());
    set("service.version", env!("CARGO_PKG_VERSION").to_owned());
    // The user's attributes over ours; the service's name as resolved (OTEL_SERVICE_NAME
    // first).
    for (key, value) in &config.resource {
        set(key, value.clone());
    }
    set("service.name", config.service_name.clone());
    Resource {
        attributes: attributes
            .into_iter()
            .map(|(key, value)| KeyValue {
                key,
                value: Some(AnyValue {
                    value: Some(Any::StringValue(value)),
                }),
                ..KeyValue::default()
            })
            .collect(),
        ..Resource::default()
    }
}

pub fn scope() -> InstrumentationScope {
    InstrumentationScope {
        name: "ringside".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        ..InstrumentationScope::default()
    }
}
