//! Secret run variables: what the API and UI show of a run's environment, and what the run
//! store keeps of it.
//!
//! The rule (one, applied everywhere): a variable is *secret* when its name looks like it holds
//! a credential ([`looks_secret`]). The API and UI show every variable's name, with secret values
//! replaced by `*****` (other values are shown with URL passwords masked). The run store never
//! holds a secret value: it keeps a reference `{"secret": "SOURCE"}` instead, where SOURCE is the
//! trigger or schedule whose config holds the value (`trigger/NAME`, `schedule/NAME`: resolved
//! from the config the service loaded), or `api/ID` for a value submitted with `POST /api/runs`,
//! kept only in this process's memory. A run whose reference cannot be resolved when it starts
//! (the service restarted, the trigger left the config) fails with an error saying so. Secret
//! values passed to a child are masked in its log and error before they are stored.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use serde_json::{Map, Value};

/// What a secret value is shown as.
pub const MASK: &str = "*****";

/// The field of a stored reference: `{"secret": "trigger/NAME"}`.
const REFERENCE: &str = "secret";

/// Values too short to mask in logs without masking everything (`1`, `on`).
const MIN_REDACTED_LEN: usize = 4;

/// Secret values by source (`trigger/NAME`, `schedule/NAME`, `api/ID`), then by variable.
static VAULT: LazyLock<RwLock<HashMap<String, HashMap<String, String>>>> = LazyLock::new(Default::default);

/// A reference in a stored run that cannot be resolved.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SecretError {
    #[error(
        "the secret value of {keys} was submitted with the run (POST /api/runs) and kept only in the memory of the service instance that accepted it, which has restarted since (or another instance sharing the store took the run): submit the run again"
    )]
    Submitted { keys: String },
    #[error("the secret value of {keys} comes from {origin}, which is no longer in the service's config")]
    Gone { keys: String, origin: String },
}

/// True when a variable's name looks like it holds a credential: it contains SECRET, PASSWORD,
/// PASSWD, TOKEN, CREDENTIAL, SESSION or PRIVATE, or one of its `_`/`-`/`.`-separated parts is
/// or ends in KEY or PWD (`AWS_ACCESS_KEY_ID`, `API_KEY`, `APIKEY`, `DB_PWD`). Case-insensitive.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    const WORDS: [&str; 7] = ["SECRET", "PASSWORD", "PASSWD", "TOKEN", "CREDENTIAL", "SESSION", "PRIVATE"];
    WORDS.iter().any(|w| upper.contains(w))
        || upper.split(['_', '-', '.']).any(|part| part.ends_with("KEY") || part.ends_with("PWD"))
}

/// A variable's value as the child process gets it.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn reference(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get(REFERENCE).and_then(Value::as_str),
        _ => None,
    }
}

/// Keeps `env`'s secret values in memory under `source` and returns `env` with each replaced by a
/// reference to it: what runs carry into the store. Registering a source again replaces it.
pub fn protect(source: &str, env: &Map<String, Value>) -> Map<String, Value> {
    let mut secret = HashMap::new();
    let mut stored = Map::new();
    for (k, v) in env {
        if looks_secret(k) && reference(v).is_none() {
            secret.insert(k.clone(), value_text(v));
            stored.insert(k.clone(), serde_json::json!({ REFERENCE: source }));
        } else {
            stored.insert(k.clone(), v.clone());
        }
    }
    let mut vault = VAULT.write().unwrap_or_else(|p| p.into_inner());
    if secret.is_empty() {
        vault.remove(source);
    } else {
        vault.insert(source.to_string(), secret);
    }
    stored
}

/// [`protect`] for variables submitted with one run over the API: kept in memory only.
pub fn protect_submitted(env: &Map<String, Value>) -> Map<String, Value> {
    if !env.keys().any(|k| looks_secret(k)) {
        return env.clone();
    }
    protect(&format!("api/{}", uuid::Uuid::new_v4().simple()), env)
}

/// The environment of a child process: every variable with its value, references resolved.
#[derive(Debug, Default)]
pub struct ChildEnv {
    pub vars: Vec<(String, String)>,
    /// The secret values among them, longest first (masked in the child's output).
    secrets: Vec<String>,
}

impl ChildEnv {
    /// The variables whose values are secrets (masked in output).
    pub fn secret_keys(&self) -> Vec<&str> {
        self.vars.iter().filter(|(_, v)| self.secrets.contains(v)).map(|(k, _)| k.as_str()).collect()
    }

    /// `text` with every secret value passed to the child replaced by `*****`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

/// Resolves a stored run's environment for its child process.
pub fn resolve(env: &Map<String, Value>) -> Result<ChildEnv, SecretError> {
    let vault = VAULT.read().unwrap_or_else(|p| p.into_inner());
    let mut child = ChildEnv::default();
    let mut missing: Vec<(&str, &str)> = Vec::new();
    for (k, v) in env {
        let value = match reference(v) {
            Some(source) => match vault.get(source).and_then(|s| s.get(k)) {
                Some(value) => value.clone(),
                None => {
                    missing.push((source, k));
                    continue;
                }
            },
            None => value_text(v),
        };
        if looks_secret(k) && value.len() >= MIN_REDACTED_LEN {
            child.secrets.push(value.clone());
        }
        child.vars.push((k.clone(), value));
    }
    if let Some((source, _)) = missing.first() {
        let keys = missing.iter().map(|(_, k)| *k).collect::<Vec<_>>().join(", ");
        return Err(match source.split_once('/') {
            Some(("api", _)) => SecretError::Submitted { keys },
            Some((kind, name)) => SecretError::Gone { keys, origin: format!("{kind} '{name}'") },
            None => SecretError::Gone { keys, origin: source.to_string() },
        });
    }
    child.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    Ok(child)
}

/// `env` as the API and UI show it: names kept, secret values (and references) as `*****`,
/// passwords in URL-like values masked.
pub fn masked(env: &Map<String, Value>) -> Map<String, Value> {
    env.iter()
        .map(|(k, v)| {
            let shown = if looks_secret(k) || reference(v).is_some() {
                Value::String(MASK.into())
            } else {
                match v {
                    Value::String(s) => Value::String(weir_engine::stages::execute::jdbc::mask_jdbc_url(s)),
                    other => other.clone(),
                }
            };
            (k.clone(), shown)
        })
        .collect()
}

/// Masks the `env` object of a serialized run, trigger or schedule in place.
pub fn mask_env_field(v: &mut Value) {
    if let Some(Value::Object(env)) = v.get_mut("env") {
        *env = masked(env);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn secret_names() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "AWS_SESSION_TOKEN",
            "api_key",
            "APIKEY",
            "DB_PASSWORD",
            "PGPASSWD",
            "DB_PWD",
            "GOOGLE_APPLICATION_CREDENTIALS",
            "ssh-private",
            "ETL_CONF_DB_PASSWORD",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["ETL_CONF_ENV", "ETL_CONF_URI", "WEIR_COUNT_ROWS", "PATH", "KEYBOARD_LAYOUT", "AWS_REGION"] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn protected_env_stores_references_and_resolves_at_spawn() {
        let config = env(json!({"AWS_SECRET_ACCESS_KEY": "s3cr3t-value", "AWS_REGION": "eu-west-1"}));
        let stored = protect("trigger/unit-a", &config);
        assert_eq!(stored["AWS_SECRET_ACCESS_KEY"], json!({"secret": "trigger/unit-a"}));
        assert_eq!(stored["AWS_REGION"], "eu-west-1");
        assert!(!serde_json::to_string(&stored).unwrap().contains("s3cr3t"));
        let child = resolve(&stored).unwrap();
        assert!(child.vars.contains(&("AWS_SECRET_ACCESS_KEY".into(), "s3cr3t-value".into())));
        assert_eq!(child.redact("sql: SELECT 's3cr3t-value' = x"), "sql: SELECT '*****' = x");
        let shown = masked(&stored);
        assert_eq!(shown["AWS_SECRET_ACCESS_KEY"], MASK);
        assert_eq!(shown["AWS_REGION"], "eu-west-1");
    }

    #[test]
    fn unresolvable_references_fail_with_the_reason() {
        let gone = env(json!({"DB_PASSWORD": {"secret": "trigger/removed"}, "X": "1"}));
        assert_eq!(
            resolve(&gone).unwrap_err().to_string(),
            "the secret value of DB_PASSWORD comes from trigger 'removed', which is no longer in the service's config"
        );
        let submitted = protect_submitted(&env(json!({"API_KEY": "k-123456", "ETL_CONF_A": "a"})));
        assert!(resolve(&submitted).is_ok());
        let source = submitted["API_KEY"]["secret"].as_str().unwrap().to_string();
        // A restart loses what was only in memory.
        VAULT.write().unwrap().remove(&source);
        assert!(matches!(resolve(&submitted), Err(SecretError::Submitted { keys }) if keys == "API_KEY"));
    }

    #[test]
    fn plain_values_pass_and_urls_are_masked_when_shown() {
        let plain = env(json!({"ETL_CONF_DB": "postgresql://u:hunter2@db/x", "N": 3}));
        assert_eq!(protect_submitted(&plain), plain);
        let child = resolve(&plain).unwrap();
        assert!(child.vars.contains(&("N".into(), "3".into())));
        assert_eq!(child.redact("hunter2"), "hunter2", "only secret-named values are redacted");
        assert!(!masked(&plain)["ETL_CONF_DB"].as_str().unwrap().contains("hunter2"));
    }
}
