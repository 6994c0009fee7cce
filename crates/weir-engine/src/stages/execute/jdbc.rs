//! JDBCExecute: Weir has no JDBC drivers yet. The stage is validated like Arc's (its
//! `inputURI` and `jdbcURL`), then rejected before anything runs with Arc's own "Invalid
//! driver" message, the URL's password masked — exactly what Arc reports when a job names
//! a driver that is not on its classpath.

use crate::config::StageConfig;
use crate::stages::Stage;

/// Masks the credentials of a JDBC URL (every form [`crate::mask`] knows).
pub fn mask_jdbc_url(url: &str) -> String {
    crate::mask::mask_credentials(url).into_owned()
}

pub fn build(c: &mut StageConfig) -> Option<Box<dyn Stage>> {
    let input_uri = c.required_string("inputURI");
    let jdbc_url = c.required_string("jdbcURL");
    let _ = c.string_map("sqlParams");
    let _ = c.node("params");
    let _ = c.string("user");
    let _ = c.string("password");
    let jdbc_url = jdbc_url?;
    let _ = input_uri?;
    c.error(
        "jdbcURL",
        format!(
            "Invalid driver for ('{}'). Available JDBC drivers: []. Weir does not support JDBC yet, so JDBCExecute stages cannot run.",
            mask_jdbc_url(&jdbc_url)
        ),
    );
    None
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
