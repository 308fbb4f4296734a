//! The one typed configuration, layered: defaults < file < environment <
//! command line. This is the only module that reads the environment, and it
//! takes the environment as an argument so tests can give their own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::{FixedOffset, NaiveDate};
use gongshu_app::RegistrationRules;
use gongshu_datafiles::{DataStore, S3Settings};
use gongshu_domain::{RegionCode, WorkingCalendar};
use serde::Deserialize;

/// The built-in holiday list of mainland China.
const DEFAULT_CALENDAR: &str = include_str!("../../../config/holidays-cn.toml");

/// Everything an instance is configured with.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct Config {
    pub(crate) server: ServerConfig,
    pub(crate) storage: StorageConfig,
    pub(crate) registration: RegistrationConfig,
    pub(crate) calendar: Option<CalendarConfig>,
    pub(crate) ledger: LedgerConfig,
}

/// The verifiable ledger: who it says it is, the key that signs its
/// checkpoints, how often it signs, and the data tracker's delay.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct LedgerConfig {
    /// The log's identity, the first line of every checkpoint and the
    /// signing key's name: a host and path, such as `data.example.gov.cn/ledger`.
    pub(crate) origin: String,
    /// The signer key (`PRIVATE+KEY+…`, from `gongshu ledger keygen`); when
    /// absent, `ledger-signing.key` in the data directory, made on first start.
    pub(crate) signing_key_file: Option<PathBuf>,
    /// Seconds between checkpoints while entries arrive.
    pub(crate) checkpoint_interval_seconds: u64,
    /// Days a use waits before the public data tracker shows it.
    pub(crate) tracker_delay_days: u32,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            origin: gongshu_app::DEFAULT_LEDGER_ORIGIN.to_owned(),
            signing_key_file: None,
            checkpoint_interval_seconds: 60,
            tracker_delay_days: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct ServerConfig {
    pub(crate) listen: SocketAddr,
    /// Hours between harvests of each harvest source; 0 harvests only on request.
    pub(crate) harvest_interval_hours: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig { listen: SocketAddr::from(([127, 0, 0, 1], 8080)), harvest_interval_hours: 24 }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct StorageConfig {
    pub(crate) data_dir: PathBuf,
    pub(crate) database_url: String,
    /// S3-compatible storage for data files; local files under the data
    /// directory when absent.
    pub(crate) s3: Option<S3Config>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig { data_dir: PathBuf::from("gongshu-data"), database_url: String::new(), s3: None }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct S3Config {
    pub(crate) endpoint: String,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
    pub(crate) region: String,
    /// From `AWS_ACCESS_KEY_ID`, never from the file.
    #[serde(skip)]
    pub(crate) access_key_id: Option<String>,
    /// From `AWS_SECRET_ACCESS_KEY`, never from the file.
    #[serde(skip)]
    pub(crate) secret_access_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct RegistrationConfig {
    pub(crate) registry_region: String,
    pub(crate) acceptance_working_days: u32,
    pub(crate) review_working_days: u32,
    pub(crate) publicity_working_days: u32,
    pub(crate) objection_working_days: u32,
    pub(crate) request_working_days: u32,
    pub(crate) sharing_check_working_days: u32,
    pub(crate) sharing_review_working_days: u32,
    pub(crate) open_review_working_days: u32,
    pub(crate) operation_review_working_days: u32,
    pub(crate) usage_report_interval_days: u32,
    pub(crate) price_publicity_days: u32,
    pub(crate) utc_offset_hours: i32,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig {
            registry_region: "330100".into(),
            acceptance_working_days: 2,
            review_working_days: 5,
            publicity_working_days: 5,
            objection_working_days: 5,
            request_working_days: 10,
            sharing_check_working_days: 2,
            sharing_review_working_days: 5,
            open_review_working_days: 10,
            operation_review_working_days: 20,
            usage_report_interval_days: 90,
            price_publicity_days: 10,
            utc_offset_hours: 8,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct CalendarConfig {
    pub(crate) holidays: Vec<NaiveDate>,
    pub(crate) makeup_workdays: Vec<NaiveDate>,
}

/// Values given on the command line, which win over everything.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) config_file: Option<PathBuf>,
    pub(crate) listen: Option<SocketAddr>,
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) database_url: Option<String>,
}

impl Config {
    /// Loads the configuration from its layers.
    pub(crate) fn load(overrides: &Overrides, env: &HashMap<String, String>) -> anyhow::Result<Config> {
        let file = overrides.config_file.clone().or_else(|| env.get("GONGSHU_CONFIG").map(PathBuf::from));
        let mut config = match &file {
            Some(path) => Config::parse_file(path)?,
            None => Config::default(),
        };
        if let Some(listen) = env.get("GONGSHU_LISTEN") {
            config.server.listen = listen
                .parse()
                .with_context(|| format!("GONGSHU_LISTEN `{listen}` is not an address like 127.0.0.1:8080"))?;
        }
        if let Some(dir) = env.get("GONGSHU_DATA_DIR") {
            config.storage.data_dir = PathBuf::from(dir);
        }
        if let Some(url) = env.get("GONGSHU_DATABASE_URL") {
            config.storage.database_url = url.clone();
        }
        if let Some(bucket) = env.get("GONGSHU_S3_BUCKET") {
            config.storage.s3.get_or_insert_with(S3Config::default).bucket = bucket.clone();
        }
        if let Some(s3) = &mut config.storage.s3 {
            // The usual AWS variables, so existing deployments' credentials work.
            let get = |key: &str| env.get(key).filter(|v| !v.is_empty()).cloned();
            if let Some(endpoint) = get("GONGSHU_S3_ENDPOINT").or_else(|| get("AWS_ENDPOINT_URL")) {
                s3.endpoint = endpoint;
            }
            if let Some(prefix) = get("GONGSHU_S3_PREFIX") {
                s3.prefix = prefix;
            }
            if let Some(region) = get("AWS_REGION").or_else(|| get("AWS_DEFAULT_REGION")) {
                s3.region = region;
            }
            s3.access_key_id = get("AWS_ACCESS_KEY_ID");
            s3.secret_access_key = get("AWS_SECRET_ACCESS_KEY");
        }
        if let Some(listen) = overrides.listen {
            config.server.listen = listen;
        }
        if let Some(dir) = &overrides.data_dir {
            config.storage.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            config.storage.database_url = url.clone();
        }
        config.validate()?;
        Ok(config)
    }

    fn parse_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("invalid configuration file {}", path.display()))
    }

    fn validate(&self) -> anyhow::Result<()> {
        let url = &self.storage.database_url;
        let supported = ["postgres://", "postgresql://", "sqlite:"].iter().any(|scheme| url.starts_with(scheme));
        if !url.is_empty() && !supported {
            bail!(
                "database_url must start with postgres://, postgresql:// or sqlite: (got `{}`)",
                url.split('@').next_back().unwrap_or("")
            );
        }
        RegionCode::parse("registration.registry_region", &self.registration.registry_region)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if !(-12..=14).contains(&self.registration.utc_offset_hours) {
            bail!("registration.utc_offset_hours must be between -12 and 14");
        }
        if self.ledger.origin.is_empty() || self.ledger.origin.contains(|c: char| c.is_whitespace() || c == '+') {
            bail!("ledger.origin must be a host and path without spaces or '+' (got `{}`)", self.ledger.origin);
        }
        if self.ledger.checkpoint_interval_seconds == 0 {
            bail!("ledger.checkpoint_interval_seconds must be at least 1");
        }
        if self.registration.publicity_working_days == 0 {
            bail!("registration.publicity_working_days must be at least 1: publicity cannot be skipped");
        }
        Ok(())
    }

    /// The database URL: the configured one, or SQLite in the data directory.
    pub(crate) fn database_url(&self) -> String {
        if self.storage.database_url.is_empty() {
            format!("sqlite://{}?mode=rwc", self.storage.data_dir.join("gongshu.db").display())
        } else {
            self.storage.database_url.clone()
        }
    }

    /// The data store: S3 when configured, else `<data_dir>/objects`.
    pub(crate) fn data_store(&self) -> anyhow::Result<DataStore> {
        let store = match &self.storage.s3 {
            Some(s3) => DataStore::s3(&S3Settings {
                endpoint: Some(s3.endpoint.clone()).filter(|e| !e.is_empty()),
                bucket: s3.bucket.clone(),
                prefix: s3.prefix.clone(),
                region: s3.region.clone(),
                access_key_id: s3.access_key_id.clone(),
                secret_access_key: s3.secret_access_key.clone(),
            }),
            None => DataStore::local(&self.storage.data_dir.join("objects")),
        };
        store.context("cannot open the data store")
    }

    /// The registration rules.
    pub(crate) fn rules(&self) -> anyhow::Result<RegistrationRules> {
        let r = &self.registration;
        Ok(RegistrationRules {
            acceptance_working_days: r.acceptance_working_days,
            review_working_days: r.review_working_days,
            publicity_working_days: r.publicity_working_days,
            objection_working_days: r.objection_working_days,
            request_working_days: r.request_working_days,
            sharing_check_working_days: r.sharing_check_working_days,
            sharing_review_working_days: r.sharing_review_working_days,
            open_review_working_days: r.open_review_working_days,
            operation_review_working_days: r.operation_review_working_days,
            usage_report_interval_days: r.usage_report_interval_days,
            price_publicity_days: r.price_publicity_days,
            registry_region: RegionCode::parse("registration.registry_region", &r.registry_region)
                .map_err(|e| anyhow::anyhow!("{e}"))?,
            utc_offset: FixedOffset::east_opt(r.utc_offset_hours * 3600).context("utc offset out of range")?,
        })
    }

    /// The working-day calendar: the configured one or the built-in list.
    pub(crate) fn calendar(&self) -> anyhow::Result<WorkingCalendar> {
        let calendar = match &self.calendar {
            Some(calendar) => calendar.clone(),
            None => {
                toml::from_str::<CalendarConfig>(DEFAULT_CALENDAR).context("the built-in holiday list is invalid")?
            }
        };
        Ok(WorkingCalendar::new(calendar.holidays, calendar.makeup_workdays))
    }
}

/// The process environment, read once.
#[allow(clippy::disallowed_methods, reason = "the config module is where the environment is read")]
pub(crate) fn process_env() -> HashMap<String, String> {
    std::env::vars().filter(|(key, _)| key.starts_with("GONGSHU_") || key.starts_with("AWS_")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_configuration_parses_and_matches_the_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/example.toml");
        let config = Config::parse_file(&path).unwrap();
        let defaults = Config::default();
        assert_eq!(config.server.listen, defaults.server.listen);
        assert_eq!(config.storage.data_dir, defaults.storage.data_dir);
        assert_eq!(config.registration.publicity_working_days, defaults.registration.publicity_working_days);
        assert_eq!(config.registration.registry_region, defaults.registration.registry_region);
        assert!(config.calendar.is_none());
    }

    #[test]
    fn layers_apply_in_order() {
        let mut env = HashMap::new();
        env.insert("GONGSHU_LISTEN".to_owned(), "127.0.0.1:9000".to_owned());
        env.insert("GONGSHU_DATABASE_URL".to_owned(), "postgres://postgres@127.0.0.1/test".to_owned());
        let config = Config::load(&Overrides::default(), &env).unwrap();
        assert_eq!(config.server.listen.port(), 9000);
        assert_eq!(config.database_url(), "postgres://postgres@127.0.0.1/test");
        let overrides = Overrides { listen: Some("127.0.0.1:9100".parse().unwrap()), ..Default::default() };
        assert_eq!(Config::load(&overrides, &env).unwrap().server.listen.port(), 9100);
        let sqlite = Config::load(&Overrides::default(), &HashMap::new()).unwrap();
        assert!(sqlite.database_url().starts_with("sqlite://gongshu-data"));
    }

    #[test]
    fn bad_values_are_named() {
        let mut env = HashMap::new();
        env.insert("GONGSHU_DATABASE_URL".to_owned(), "mysql://root@x/db".to_owned());
        let error = Config::load(&Overrides::default(), &env).unwrap_err().to_string();
        assert!(error.contains("database_url"), "{error}");
        let unknown: Result<Config, _> = toml::from_str("[server]\nlisten = \"127.0.0.1:1\"\nport = 3\n");
        assert!(unknown.unwrap_err().to_string().contains("unknown field `port`"));
    }

    #[test]
    fn the_built_in_calendar_knows_national_day() {
        let calendar = Config::default().calendar().unwrap();
        let day = |m, d| NaiveDate::from_ymd_opt(2025, m, d).unwrap();
        assert!(!calendar.is_working_day(day(10, 6)));
        assert!(calendar.is_working_day(day(10, 11)));
    }
}
