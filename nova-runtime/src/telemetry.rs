//! Logging setup shared by every service binary: logs go to stdout (twelve-factor), as plain
//! text without colour codes unless stdout is a terminal, or as one JSON object per line with
//! `NOVA_LOG_FORMAT=json` (for log shippers). `RUST_LOG` overrides the default `info` level;
//! `RUST_LOG=debug` adds one line per call (method, code, duration, request id).

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable, with ANSI colours (stdout is a terminal).
    Coloured,
    /// Human-readable, no escape codes (redirected to a file or a pipe).
    Plain,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// `NOVA_LOG_FORMAT` (`json`, `text`, or unset) and whether stdout is a terminal decide.
    /// An unknown value falls back to text: logging must never stop a service from starting.
    pub fn choose(setting: Option<&str>, terminal: bool) -> Self {
        match setting.map(str::trim) {
            Some(value) if value.eq_ignore_ascii_case("json") => LogFormat::Json,
            _ if terminal => LogFormat::Coloured,
            _ => LogFormat::Plain,
        }
    }
}

/// Installs the process's logger. Safe to call more than once (tests start several services
/// in one process): the first call wins.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let setting = std::env::var("NOVA_LOG_FORMAT").ok();
    let format = LogFormat::choose(setting.as_deref(), std::io::stdout().is_terminal());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(std::io::stdout);
    let _already_set = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Coloured => builder.with_ansi(true).try_init(),
        LogFormat::Plain => builder.with_ansi(false).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::LogFormat;

    #[test]
    fn json_when_asked_colour_only_on_a_terminal() {
        assert_eq!(LogFormat::choose(Some("json"), true), LogFormat::Json);
        assert_eq!(LogFormat::choose(Some(" JSON "), false), LogFormat::Json);
        assert_eq!(LogFormat::choose(None, true), LogFormat::Coloured);
        assert_eq!(LogFormat::choose(None, false), LogFormat::Plain);
        assert_eq!(LogFormat::choose(Some("text"), false), LogFormat::Plain);
        assert_eq!(LogFormat::choose(Some("xml"), true), LogFormat::Coloured, "unknown values fall back to text");
    }
}
