//! Logs to stderr as hclog JSON lines, which go-plugin parses and Terraform
//! shows under `TF_LOG_PROVIDER` with the right level. Nothing is printed
//! unless Terraform's log level asks for it. Nothing here logs values:
//! providers keep secrets in types whose Debug output is redacted.

use std::fmt;

use serde_json::{Map, Value as Json};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::framework::Identity;

/// The level Terraform asked for (`TF_LOG_PROVIDER`, else `TF_LOG`), if any.
pub fn level_from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<Level> {
    let v = env("TF_LOG_PROVIDER").or_else(|| env("TF_LOG"))?;
    match v.trim().to_ascii_lowercase().as_str() {
        "trace" | "json" => Some(Level::TRACE),
        "debug" => Some(Level::DEBUG),
        "info" => Some(Level::INFO),
        "warn" => Some(Level::WARN),
        "error" => Some(Level::ERROR),
        "" | "off" => None,
        // Terraform treats any other value as TRACE.
        _ => Some(Level::TRACE),
    }
}

/// Installs the stderr logger; call once at start.
pub fn init(identity: &Identity, level: Option<Level>) {
    let Some(level) = level else { return };
    // The provider's own crates at the requested level; libraries (h2,
    // rustls) only when something is wrong.
    let mut directives = vec!["warn".to_owned()];
    directives.extend(identity.log_crates.iter().map(|c| format!("{c}={level}")));
    let filter = tracing_subscriber::EnvFilter::new(directives.join(","));
    let format = HclogJson { module: identity.name };
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).event_format(format).try_init();
}

/// One JSON object per event: `@level`, `@message`, `@module`
/// (`<provider>.<target>`), `@timestamp` and the event's fields.
pub struct HclogJson {
    /// The provider's name, the first part of `@module`.
    pub module: &'static str,
}

struct Fields(Map<String, Json>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(key(field), Json::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(key(field), Json::from(format!("{value:?}")));
    }
}

fn key(f: &Field) -> String {
    if f.name() == "message" { "@message".to_owned() } else { f.name().to_owned() }
}

impl<S, N> FormatEvent<S, N> for HclogJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(&self, _: &FmtContext<'_, S, N>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let mut fields = Fields(Map::new());
        event.record(&mut fields);
        let mut obj = Map::new();
        obj.insert("@level".into(), Json::from(event.metadata().level().as_str().to_ascii_lowercase()));
        obj.insert("@message".into(), fields.0.remove("@message").unwrap_or(Json::from("")));
        obj.insert("@module".into(), Json::from(format!("{}.{}", self.module, event.metadata().target())));
        let now = time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
        obj.insert("@timestamp".into(), Json::from(now));
        obj.extend(fields.0);
        writeln!(w, "{}", Json::Object(obj))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terraform_log_levels_map_to_tracing_levels() {
        let env = |v: &'static str| move |k: &str| (k == "TF_LOG").then(|| v.to_owned());
        assert_eq!(level_from_env(&env("DEBUG")), Some(Level::DEBUG));
        assert_eq!(level_from_env(&env("json")), Some(Level::TRACE));
        assert_eq!(level_from_env(&env("off")), None);
        assert_eq!(level_from_env(&|_| None), None);
        let both = |k: &str| match k {
            "TF_LOG" => Some("trace".to_owned()),
            "TF_LOG_PROVIDER" => Some("warn".to_owned()),
            _ => None,
        };
        assert_eq!(level_from_env(&both), Some(Level::WARN));
    }
}
