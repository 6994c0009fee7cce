//! JDBCExecute: runs the SQL statement of the file at `inputURI` (after `sqlParams`
//! injection, not checked as Spark SQL: it is the database's dialect) once on the database of
//! `jdbcURL`, producing no view. PostgreSQL, MySQL/MariaDB and SQLite run through
//! [`crate::jdbc`], with `params` — and the stage's `user`/`password`, when neither the URL nor
//! `params` sets them — as connection properties; Amazon Athena (`jdbc:awsathena://`) runs
//! through the Athena API ([`crate::athena`]). A URL whose driver Weir lacks is Arc's
//! "Invalid driver" config error; run-time failures carry the database's message; the
//! password never shows.

use async_trait::async_trait;
use serde_json::{Map, Value};

use crate::athena::AthenaTarget;
use crate::config::{ConfigError, StageConfig};
use crate::jdbc::JdbcTarget;
use crate::session::Session;
use crate::stages::sql_source::SqlSource;
use crate::stages::{Outcome, Stage, StageError};

/// Masks the credentials of a JDBC URL (every form [`crate::mask`] knows).
pub fn mask_jdbc_url(url: &str) -> String {
    crate::mask::mask_credentials(url).into_owned()
}

/// Where the statement runs.
#[derive(Debug)]
enum Target {
    Jdbc(JdbcTarget),
    Athena(AthenaTarget),
}

/// `JDBCExecute` configuration.
#[derive(Debug)]
pub struct JdbcExecute {
    sql: SqlSource,
    target: Target,
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let url = c.string("jdbcURL");
    let target = match url {
        Some(url) if crate::athena::is_athena_url(&url) => {
            let params = c.string_map("params").unwrap_or_default();
            crate::athena::parse_url(&url, &params)
                .map_err(|message| c.error("jdbcURL", message))
                .ok()
                .map(Target::Athena)
        }
        Some(url) if crate::jdbc::driver_of(&url).is_err() => {
            let _ = c.node("params");
            c.error("jdbcURL", crate::jdbc::invalid_driver(&url, &["jdbc:awsathena"]));
            None
        }
        _ => JdbcTarget::read(c).map(Target::Jdbc),
    };
    let sql_params = c.string_map("sqlParams").unwrap_or_default();
    // Connection properties for the JDBC drivers; Athena takes its credentials from the URL.
    let user = c.string("user");
    let password = c.string("password");
    let mut target = target?;
    if let Target::Jdbc(jdbc) = &mut target {
        jdbc.default_property("user", user);
        jdbc.default_property("password", password);
    }
    Some(Box::new(JdbcExecute { sql: SqlSource::foreign(input_uri?, sql_params), target }))
}

#[async_trait]
impl Stage for JdbcExecute {
    fn detail(&self) -> Map<String, Value> {
        let mut m = Map::new();
        self.sql.detail(&mut m);
        m.insert("sql".into(), crate::mask::mask_credentials(&self.sql.sql).into_owned().into());
        match &self.target {
            Target::Jdbc(jdbc) => jdbc.detail(&mut m),
            Target::Athena(athena) => {
                m.insert("jdbcURL".into(), athena.masked_url.clone().into());
            }
        }
        m
    }

    async fn prepare(&mut self, session: &Session) -> Result<(), Vec<ConfigError>> {
        self.sql.prepare(session).await?;
        if let Target::Athena(athena) = &self.target
            && !athena.unknown.is_empty()
        {
            session.log.warn(crate::obj! {
                "event" => "validateConfig",
                "message" => format!(
                    "jdbcURL: properties the Athena driver does not know are ignored: [{}]",
                    athena.unknown.join(", ")
                ),
            });
        }
        Ok(())
    }

    async fn execute(&self, _session: &Session) -> Result<Outcome, StageError> {
        match &self.target {
            Target::Jdbc(jdbc) => {
                let url = jdbc.parse().map_err(|e| StageError::msg(e.to_string()))?;
                crate::jdbc::execute(&url, &self.sql.sql).await.map_err(|e| StageError::msg(e.to_string()))?;
                Ok(Outcome::default())
            }
            Target::Athena(athena) => {
                let outcome = crate::athena::execute(athena, &self.sql.sql)
                    .await
                    .map_err(|e| StageError::msg(mask_jdbc_url(&e.to_string())))?;
                let mut out = Outcome::default();
                out.detail.insert("athena".into(), Value::Object(outcome.detail()));
                Ok(out)
            }
        }
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
