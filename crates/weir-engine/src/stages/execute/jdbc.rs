//! JDBCExecute: the statement in the file at `inputURI`, with `sqlParams` injected, run once
//! on the database of `jdbcURL`. Amazon Athena (`jdbc:awsathena://`) runs through the Athena
//! API ([`crate::athena`]); every other driver is rejected before anything runs with Arc's own
//! "Invalid driver" message, the URL's password masked — exactly what Arc reports when a job
//! names a driver that is not on its classpath.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::athena::AthenaTarget;
use crate::config::{ConfigError, StageConfig};
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::{Outcome, Stage, StageError};

/// Masks the credentials of a JDBC URL (every form [`crate::mask`] knows).
pub fn mask_jdbc_url(url: &str) -> String {
    crate::mask::mask_credentials(url).into_owned()
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let jdbc_url = c.required_string("jdbcURL");
    let sql_params = c.string_map("sqlParams");
    // Arc accepts and ignores these (credentials go in the URL or `params`).
    let _ = c.string("user");
    let _ = c.string("password");
    let jdbc_url = jdbc_url?;
    if crate::athena::is_athena_url(&jdbc_url) {
        let params = c.string_map("params").unwrap_or_default();
        let target = crate::athena::parse_url(&jdbc_url, &params).map_err(|message| c.error("jdbcURL", message)).ok();
        let sql = SqlSource::foreign(input_uri?, sql_params.unwrap_or_default());
        return Some(Box::new(AthenaExecute { sql, target: target? }));
    }
    let _ = c.node("params");
    let _ = input_uri?;
    c.error(
        "jdbcURL",
        format!(
            "Invalid driver for ('{}'). Available JDBC drivers: [jdbc:awsathena]. Weir runs JDBCExecute on Amazon Athena only so far.",
            mask_jdbc_url(&jdbc_url)
        ),
    );
    None
}

/// JDBCExecute on Amazon Athena.
#[derive(Debug)]
struct AthenaExecute {
    sql: SqlSource,
    target: AthenaTarget,
}

#[async_trait]
impl Stage for AthenaExecute {
    fn detail(&self) -> Map<String, Value> {
        let mut m = crate::obj! { "jdbcURL" => self.target.masked_url };
        self.sql.detail(&mut m);
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await?;
        if !self.target.unknown.is_empty() {
            session.log.warn(crate::obj! {
                "event" => "validateConfig",
                "message" => format!(
                    "jdbcURL: properties the Athena driver does not know are ignored: [{}]",
                    self.target.unknown.join(", ")
                ),
            });
        }
        Ok(())
    }

    async fn execute(&self, _session: &Session) -> Result<Outcome, StageError> {
        let outcome = crate::athena::execute(&self.target, &self.sql.sql)
            .await
            .map_err(|e| StageError::msg(mask_jdbc_url(&e.to_string())))?;
        let mut out = Outcome::default();
        out.detail.insert("athena".into(), Value::Object(outcome.detail()));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords() {
        let url = "jdbc:awsathena://AwsRegion=ap-southeast-2;S3OutputLocation=s3://x;User=AKIA;Password=s3cr3t";
        let masked = mask_jdbc_url(url);
        assert!(masked.ends_with("Password=*****"), "{masked}");
        assert!(!masked.contains("s3cr3t"));
        assert_eq!(
            mask_jdbc_url("jdbc:postgresql://u:pw@host/db?password=x&a=1"),
            "jdbc:postgresql://u:*****@host/db?password=*****&a=1"
        );
    }
}
