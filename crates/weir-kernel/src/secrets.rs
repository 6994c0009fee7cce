//! Values entered with `%secret`: kept for the session only and masked wherever the kernel
//! writes text (cell output listings, its log).

use std::sync::{Arc, RwLock};

/// Shared set of secret names and values (cloning shares it).
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    inner: Arc<RwLock<Vec<(String, String)>>>,
}

impl Secrets {
    pub fn add(&self, name: &str, value: &str) {
        let mut v = self.inner.write().unwrap_or_else(|p| p.into_inner());
        v.retain(|(n, _)| n != name);
        v.push((name.to_string(), value.to_string()));
    }

    pub fn clear(&self) {
        self.inner.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    pub fn is_secret_name(&self, name: &str) -> bool {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).iter().any(|(n, _)| n == name)
    }

    /// `text` with every secret value replaced by `*` of the same length, and every URL or
    /// connection-string credential masked.
    pub fn mask(&self, text: &str) -> String {
        let secrets = self.inner.read().unwrap_or_else(|p| p.into_inner());
        let mut out = weir_engine::mask::mask_credentials(text).into_owned();
        for (_, value) in secrets.iter().filter(|(_, v)| !v.is_empty()) {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &"*".repeat(value.chars().count()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_and_cleared() {
        let s = Secrets::default();
        s.add("PW", "hunter2");
        assert_eq!(s.mask("value hunter2 here"), "value ******* here");
        // Connection-string credentials are masked whether or not they are secrets.
        assert_eq!(s.mask("jdbc:x;Password=hunter2"), "jdbc:x;Password=*****");
        assert!(s.is_secret_name("PW"));
        s.clear();
        assert_eq!(s.mask("hunter2"), "hunter2");
        assert_eq!(s.mask("jdbc:oracle:thin:u/p@h"), "jdbc:oracle:thin:u/*****@h");
    }
}
