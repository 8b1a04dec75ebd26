//! Where and how events are exported: `--otlp` and its flags over the OpenTelemetry
//! exporter variables (`OTEL_EXPORTER_OTLP_*`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`),
//! as the OpenTelemetry specification reads them. Flags win over variables; a signal's own
//! variable (`…_LOGS_…`) over the general one.

use std::path::PathBuf;
use std::time::Duration;

/// The queue between ringside and the network, by default.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
const HTTP_DEFAULT: &str = "http://localhost:4318";
const GRPC_DEFAULT: &str = "http://localhost:4317";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    HttpProtobuf,
    Grpc,
}

/// What the command line says; `None`s are left to the variables.
#[derive(Clone, Debug, Default)]
pub struct OtlpFlags {
    /// A base endpoint, as `OTEL_EXPORTER_OTLP_ENDPOINT` is; `None` for `--otlp` alone.
    pub endpoint: Option<String>,
    pub protocol: Option<String>,
    pub headers: Vec<String>,
    pub compression: Option<String>,
    pub queue_bytes: Option<usize>,
}

/// Everything the exporter needs, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct OtlpConfig {
    pub protocol: Protocol,
    /// For http/protobuf the whole URL the logs are posted to (`…/v1/logs`).
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub gzip: bool,
    /// Per export attempt; `None` waits as long as it takes.
    pub timeout: Option<Duration>,
    /// Extra CA certificates (PEM) to trust.
    pub certificate: Option<PathBuf>,
    pub service_name: String,
    /// `OTEL_RESOURCE_ATTRIBUTES`, decoded.
    pub resource: Vec<(String, String)>,
    pub queue_bytes: usize,
    /// What was wrong with the variables but not fatal (a resource list that did not decode).
    pub warnings: Vec<String>,
}

impl OtlpConfig {
    /// Resolves `flags` over the variables `env` gives; the error is one line saying what was
    /// wrong and what to do.
    pub fn resolve(
        flags: &OtlpFlags,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<OtlpConfig, String> {
        let signal = |name: &str| {
            env(&format!("OTEL_EXPORTER_OTLP_LOGS_{name}"))
                .or_else(|| env(&format!("OTEL_EXPORTER_OTLP_{name}")))
                .filter(|value| !value.trim().is_empty())
        };
        let protocol = match flags
            .protocol
            .clone()
            .or_else(|| signal("PROTOCOL"))
            .as_deref()
            .map(str::trim)
        {
            None | Some("http/protobuf") => Protocol::HttpProtobuf,
            Some("grpc") => Protocol::Grpc,
            Some(other) => {
                return Err(format!(
                    "OTLP protocol `{other}` is not supported: use http/protobuf or grpc"
                ));
            }
        };
        let url = match (&flags.endpoint, env("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT")) {
            (Some(base), _) => signal_url(protocol, base),
            (None, Some(logs)) if !logs.trim().is_empty() => logs.trim().to_owned(),
            _ => match env("OTEL_EXPORTER_OTLP_ENDPOINT").filter(|base| !base.trim().is_empty()) {
                Some(base) => signal_url(protocol, &base),
                None => signal_url(
                    protocol,
                    match protocol {
                        Protocol::HttpProtobuf => HTTP_DEFAULT,
                        Protocol::Grpc => GRPC_DEFAULT,
                    },
                ),
            },
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "OTLP endpoint `{url}` is not an http:// or https:// URL, e.g. http://collector:4318"
            ));
        }
        let mut headers = match signal("HEADERS") {
            Some(list) => decode_list(&list)
                .map_err(|error| format!("OTEL_EXPORTER_OTLP_HEADERS: {error}"))?,
            None => Vec::new(),
        };
        for header in &flags.headers {
            let (key, value) = header.split_once('=').ok_or_else(|| {
                format!(
                    "--otlp-header `{header}`: give it as NAME=VALUE, e.g. 'Authorization=Bearer …'"
                )
            })?;
            headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(key.trim()));
            headers.push((key.trim().to_owned(), value.trim().to_owned()));
        }
        let gzip = match flags
            .compression
            .clone()
            .or_else(|| signal("COMPRESSION"))
            .as_deref()
            .map(str::trim)
        {
            None | Some("none") => false,
            Some("gzip") => true,
            Some(other) => {
                return Err(format!(
                    "OTLP compression `{other}` is not supported: use gzip or none"
                ));
            }
        };
        let timeout = match signal("TIMEOUT") {
            None => Some(DEFAULT_TIMEOUT),
            Some(ms) => match ms.trim().parse::<i64>() {
                Ok(0) => None,
                Ok(ms) if ms > 0 => Some(Duration::from_millis(ms.unsigned_abs())),
                _ => {
                    return Err(format!(
                        "OTEL_EXPORTER_OTLP_TIMEOUT `{ms}` is not a number of milliseconds"
                    ));
                }
            },
        };
        let mut warnings = Vec::new();
        let resource = match env("OTEL_RESOURCE_ATTRIBUTES").filter(|list| !list.trim().is_empty())
        {
            Some(list) => decode_list(&list).unwrap_or_else(|error| {
                // The specification: a list that does not decode is dropped whole.
                warnings.push(format!("OTEL_RESOURCE_ATTRIBUTES ignored: {error}"));
                Vec::new()
            }),
            None => Vec::new(),
        };
        let service_name = env("OTEL_SERVICE_NAME")
            .filter(|name| !name.trim().is_empty())
            .or_else(|| {
                resource
                    .iter()
                    .find(|(key, _)| key == "service.name")
                    .map(|(_, value)| value.clone())
            })
            .unwrap_or_else(|| "ringside".to_owned());
        Ok(OtlpConfig {
            protocol,
            url,
            headers,
            gzip,
            timeout,
            certificate: signal("CERTIFICATE").map(PathBuf::from),
            service_name,
            resource,
            queue_bytes: flags.queue_bytes.unwrap_or(DEFAULT_QUEUE_BYTES),
            warnings,
        })
    }
}

/// A base endpoint made the logs' URL: for http/protobuf `BASE/v1/logs` (one slash between);
/// gRPC takes the base as it is.
fn signal_url(protocol: Protocol, base: &str) -> String {
    let base = base.trim();
    match protocol {
        Protocol::HttpProtobuf => format!("{}/v1/logs", base.trim_end_matches('/')),
        Protocol::Grpc => base.to_owned(),
    }
}

/// `key1=value1,key2=value2`, values percent-decoded (the W3C Baggage form the variables use).
fn decode_list(list: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for item in list
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
    {
        let (key, value) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not KEY=VALUE"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(format!("`{item}` has no key"));
        }
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8()
            .map_err(|_| format!("`{item}`: the value is not UTF-8 once decoded"))?;
        pairs.push((key.to_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// `--otlp-queue`: bytes, with an optional K, M or G (KiB, MiB, GiB) suffix.
pub fn parse_size(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = text[digits.len()..].to_ascii_lowercase();
    let shift = match unit.as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("`{text}`: give bytes, e.g. 64MiB, 512K or 1G")),
    };
    let number: usize = digits
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: give bytes, e.g. 64MiB, 512K or 1G"))?;
    number
        .checked_mul(1 << shift)
        .filter(|&bytes| bytes >= 1 << 20)
        .ok_or_else(|| format!("`{text}`: the queue takes 1MiB at the least"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(flags: &OtlpFlags, vars: &[(&str, &str)]) -> Result<OtlpConfig, String> {
        OtlpConfig::resolve(flags, &|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn endpoints_follow_the_specification() {
        let none = OtlpFlags::default();
        assert_eq!(
            resolve(&none, &[]).unwrap().url,
            "http://localhost:4318/v1/logs"
        );
        let base = [("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318/mycollector/")];
        assert_eq!(
            resolve(&none, &base).unwrap().url,
            "http://c:4318/mycollector/v1/logs"
        );
        let logs = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://d:9999/custom"),
        ];
        assert_eq!(resolve(&none, &logs).unwrap().url, "http://d:9999/custom");
        let flag = OtlpFlags {
            endpoint: Some("https://otlp.example.com".into()),
            ..OtlpFlags::default()
        };
        assert_eq!(
            resolve(&flag, &logs).unwrap().url,
            "https://otlp.example.com/v1/logs"
        );
        let grpc = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ];
        let config = resolve(&none, &grpc).unwrap();
        assert_eq!(
            (config.protocol, config.url.as_str()),
            (Protocol::Grpc, "http://collector:4317")
        );
        assert!(resolve(&none, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]).is_err());
        let bad = OtlpFlags {
            endpoint: Some("collector:4318".into()),
            ..OtlpFlags::default()
        };
        assert!(resolve(&bad, &[]).unwrap_err().contains("http://"));
    }

    #[test]
    fn headers_compression_timeout_and_resource_come_from_flags_over_variables() {
        let flags = OtlpFlags {
            headers: vec!["Authorization=Bearer flag".into()],
            compression: Some("gzip".into()),
            ..OtlpFlags::default()
        };
        let vars = [
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "authorization=Bearer%20var,x-tenant=a%2Cb",
            ),
            ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "2500"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,deployment.environment=prod",
            ),
        ];
        let config = resolve(&flags, &vars).unwrap();
        assert_eq!(
            config.headers,
            [
                ("x-tenant".to_owned(), "a,b".to_owned()),
                ("Authorization".to_owned(), "Bearer flag".to_owned()),
            ]
        );
        assert!(config.gzip);
        assert_eq!(config.timeout, Some(Duration::from_millis(2500)));
        assert_eq!(config.service_name, "from-attrs");
        assert_eq!(config.resource.len(), 2);
        let named = resolve(&flags, &[("OTEL_SERVICE_NAME", "api")]).unwrap();
        assert_eq!(named.service_name, "api");
        let broken = resolve(&flags, &[("OTEL_RESOURCE_ATTRIBUTES", "a=1,oops")]).unwrap();
        assert!(broken.resource.is_empty());
        assert_eq!(broken.warnings.len(), 1);
        let unlimited = resolve(&flags, &[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")]).unwrap();
        assert_eq!(unlimited.timeout, None);
        let bad_header = OtlpFlags {
            headers: vec!["no-equals".into()],
            ..OtlpFlags::default()
        };
        assert!(
            resolve(&bad_header, &[])
                .unwrap_err()
                .contains("NAME=VALUE")
        );
    }

    #[test]
    fn queue_sizes_take_units() {
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("4194304"), Ok(4 << 20));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1K").is_err());
    }
}
