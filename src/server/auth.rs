//! Who may do what on a connection: the configured tokens (from `auth.tokens` and
//! `auth.tokens_file`), the permissions of each, and the check every request passes.
//!
//! The Unix socket is guarded by its file mode, so its connections may do everything. A TCP or
//! WebSocket connection may do everything too while no token is configured (both listen on
//! loopback by default); once any token is configured it may do nothing but
//! `goxel.authenticate` until it presents one, and then only what that token allows.
//!
//! Tokens are compared as BLAKE3 digests with `blake3::Hash`'s constant-time equality, against
//! every configured token without stopping early, so the time a guess takes says nothing
//! about how close it was (nor about a token's length).

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};

use crate::config::{Config, Permission};
use crate::methods::Method;
use crate::rpc::{RpcError, codes};

/// A set of permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Permissions(u8);

impl Permissions {
    /// Every permission.
    pub const ALL: Permissions = Permissions(0b1111);

    fn bit(p: Permission) -> u8 {
        match p {
            Permission::Read => 1,
            Permission::Edit => 2,
            Permission::Script => 4,
            Permission::Admin => 8,
        }
    }

    /// The set of `list`; `Admin` brings every other permission with it.
    pub fn of(list: &[Permission]) -> Permissions {
        let mut bits = list.iter().fold(0, |b, &p| b | Permissions::bit(p));
        if bits & Permissions::bit(Permission::Admin) != 0 {
            bits = Permissions::ALL.0;
        }
        Permissions(bits)
    }

    /// Whether the set holds `p`.
    pub fn allows(self, p: Permission) -> bool {
        self.0 & Permissions::bit(p) != 0
    }

    /// The names, for replies.
    pub fn names(self) -> Vec<&'static str> {
        [
            (Permission::Read, "read"),
            (Permission::Edit, "edit"),
            (Permission::Script, "script"),
            (Permission::Admin, "admin"),
        ]
        .into_iter()
        .filter(|&(p, _)| self.allows(p))
        .map(|(_, n)| n)
        .collect()
    }
}

/// What one connection may do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Everything (the Unix socket; network transports while no token is configured).
    Full,
    /// Nothing until a valid token comes.
    Unauthenticated,
    /// What its token allows.
    Token(Permissions),
}

impl Access {
    /// The permissions now held.
    pub fn permissions(self) -> Permissions {
        match self {
            Access::Full => Permissions::ALL,
            Access::Unauthenticated => Permissions::default(),
            Access::Token(p) => p,
        }
    }

    /// Whether `method` may run; the error says why not.
    pub fn check(self, method: &Method) -> Result<(), RpcError> {
        if method.name == "goxel.authenticate" {
            return Ok(());
        }
        match self {
            Access::Full => Ok(()),
            Access::Unauthenticated => Err(RpcError::server(
                codes::NOT_AUTHENTICATED,
                "authentication required: send goxel.authenticate {token} first",
                None,
            )),
            Access::Token(p) if p.allows(method.permission) => Ok(()),
            Access::Token(p) => Err(RpcError::server(
                codes::PERMISSION_DENIED,
                format!(
                    "permission denied: {} needs the {:?} permission; this token has [{}]",
                    method.name,
                    method.permission,
                    p.names().join(", ")
                ),
                Some(serde_json::json!({
                    "method": method.name,
                    "needs": format!("{:?}", method.permission).to_lowercase(),
                    "has": p.names(),
                })),
            )),
        }
    }
}

/// The configured tokens.
#[derive(Default)]
pub struct Tokens {
    entries: Vec<(blake3::Hash, Permissions)>,
}

impl Tokens {
    /// The tokens of `config.auth`, reading `tokens_file` if set (refused unless mode 0600
    /// or stricter).
    pub fn load(config: &Config) -> anyhow::Result<Tokens> {
        let mut entries: Vec<(blake3::Hash, Permissions)> = config
            .auth
            .tokens
            .iter()
            .map(|t| {
                (
                    blake3::hash(t.token.as_bytes()),
                    Permissions::of(&t.permissions),
                )
            })
            .collect();
        if let Some(file) = &config.auth.tokens_file {
            let path = if file.is_absolute() {
                file.clone()
            } else {
                config.data_dir.join(file)
            };
            entries.extend(read_tokens_file(&path)?);
        }
        Ok(Tokens { entries })
    }

    /// Whether any token is configured (then network clients must authenticate).
    pub fn required(&self) -> bool {
        !self.entries.is_empty()
    }

    /// The permissions of `token`, if it is one of the configured tokens.
    pub fn find(&self, token: &str) -> Option<Permissions> {
        let digest = blake3::hash(token.as_bytes());
        let mut found = None;
        // No early exit: every entry is compared, each in constant time.
        for (hash, perms) in &self.entries {
            if *hash == digest {
                found = Some(*perms);
            }
        }
        found
    }
}

/// Reads a tokens file: one token per line, then its permissions separated by commas
/// (`TOKEN Read,Edit`); blank lines and `#` comments are skipped.
fn read_tokens_file(path: &Path) -> anyhow::Result<Vec<(blake3::Hash, Permissions)>> {
    let meta =
        std::fs::metadata(path).with_context(|| format!("auth.tokens_file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!(
            "auth.tokens_file {} has mode {mode:o}: group or others may read or write it; run `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading auth.tokens_file {}", path.display()))?;
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(token), Some(perms), None) = (parts.next(), parts.next(), parts.next()) else {
            bail!(
                "{}:{}: expected `TOKEN PERMISSION,PERMISSION`",
                path.display(),
                n + 1
            );
        };
        if token.len() < 16 {
            bail!(
                "{}:{}: a token must be at least 16 characters",
                path.display(),
                n + 1
            );
        }
        let mut list = Vec::new();
        for p in perms.split(',') {
            list.push(match p.trim().to_ascii_lowercase().as_str() {
                "read" => Permission::Read,
                "edit" => Permission::Edit,
                "script" => Permission::Script,
                "admin" => Permission::Admin,
                other => bail!(
                    "{}:{}: unknown permission {other:?} (Read, Edit, Script, Admin)",
                    path.display(),
                    n + 1
                ),
            });
        }
        out.push((blake3::hash(token.as_bytes()), Permissions::of(&list)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_brings_everything_and_read_only_reads() {
        assert_eq!(Permissions::of(&[Permission::Admin]), Permissions::ALL);
        let r = Permissions::of(&[Permission::Read]);
        assert!(r.allows(Permission::Read) && !r.allows(Permission::Edit));
        assert_eq!(r.names(), ["read"]);
    }

    #[test]
    fn a_tokens_file_open_to_others_is_refused_and_a_private_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.txt");
        std::fs::write(
            &path,
            "# viewer\n0123456789abcdef-viewer Read\nsecond-token-0123456 Read,Edit\n",
        )
        .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_tokens_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("mode 644") && err.contains("chmod 600"),
            "{err}"
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let entries = read_tokens_file(&path).unwrap();
        let tokens = Tokens { entries };
        assert_eq!(
            tokens.find("0123456789abcdef-viewer"),
            Some(Permissions::of(&[Permission::Read]))
        );
        assert_eq!(tokens.find("0123456789abcdef-viewe"), None);
        assert!(
            tokens
                .find("second-token-0123456")
                .unwrap()
                .allows(Permission::Edit)
        );
    }
}
