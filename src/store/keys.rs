//! Per-person ed25519 keys, so a signature can be checked without trusting the database: a
//! person keeps their private key in a file (`snop keys generate`), their public key is written
//! in `snop.toml` (`[people."id"] public_key = "ed25519:..."`), and a signature made with
//! `snop drafts sign --key FILE` carries an ed25519 signature over [`message_v2`]: which draft,
//! artifact, cycle and version, under which role, by whom, over which content hash, when, and
//! the audit chain's end it was made at (signatures made over version 1, [`message`], without
//! the time and the anchor, still verify). Someone who
//! can write the database but not the person's key file cannot forge it, even by rewriting the
//! draft, its signature rows and the whole audit chain consistently.

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};

const PUBLIC_PREFIX: &str = "ed25519:";

/// A new private key from the operating system's random source.
pub fn generate() -> Result<SigningKey, String> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| format!("the operating system gave no random bytes: {e}"))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Where a person's private key is kept unless they say otherwise:
/// `$XDG_CONFIG_HOME/snop/keys/<person>.ed25519` (`~/.config/...` by default).
pub fn default_path(person: &str) -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("snop").join("keys").join(format!("{person}.ed25519")))
}

/// Writes a private key (hex of its 32-byte seed), readable by its owner only; never replaces
/// an existing file (a lost key makes the signatures it made unverifiable by a new one).
pub fn write_private(path: &Path, key: &SigningKey) -> Result<(), String> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    let mut file =
        fs_err::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                format!("`{}` already exists: snop never replaces a key; pass `--out` for another file", path.display())
            }
            _ => e.to_string(),
        })?;
    file.write_all(format!("{}\n", hex::encode(key.to_bytes())).as_bytes()).map_err(|e| e.to_string())
}

/// Reads a private key written by [`write_private`].
pub fn read_private(path: &Path) -> Result<SigningKey, String> {
    let text = fs_err::read_to_string(path).map_err(|e| e.to_string())?;
    let bytes: [u8; 32] = hex::decode(text.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("`{}` is not a snop private key (64 hex digits)", path.display()))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// A public key as `snop.toml` holds it: `ed25519:<64 hex digits>`.
pub fn public_text(key: &VerifyingKey) -> String {
    format!("{PUBLIC_PREFIX}{}", hex::encode(key.to_bytes()))
}

/// Reads a public key in the form of [`public_text`].
pub fn parse_public(text: &str) -> Result<VerifyingKey, String> {
    let bad = || {
        format!("`{text}` is not a public key: expected `ed25519:` and 64 hex digits (`snop keys generate` prints it)")
    };
    let bytes: [u8; 32] = text
        .strip_prefix(PUBLIC_PREFIX)
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// What a signature made before version 2 covers (no time, no anchor): still verified, so old
/// signatures stand. Every field is on its own line, named.
pub fn message(draft_id: i64, artifact: &str, cycle: &str, version: i64, role: &str, actor: &str, sha: &str) -> String {
    format!(
        "snop signature v1\ndraft {draft_id}\nartifact {artifact}\ncycle {cycle}\nversion {version}\nrole {role}\nsigner {actor}\ncontent_sha256 {sha}\n"
    )
}

/// Where a signature stands: which draft (id, artifact, cycle, version), under which role, by
/// whom, over which content hash, at what time, and the audit chain as it stood just before its
/// own entry (how many entries, the last one's hash).
#[derive(Debug, Clone, Copy)]
pub struct Signed<'a> {
    pub draft_id: i64,
    pub artifact: &'a str,
    pub cycle: &'a str,
    pub version: i64,
    pub role: &'a str,
    pub actor: &'a str,
    pub sha: &'a str,
    pub at: &'a str,
    pub audit_count: i64,
    pub audit_hash: &'a str,
}

/// What a signature covers since version 2, as the bytes signed: version 1's fields, the time
/// and the audit chain's end it was made at, so neither can be changed unseen.
pub fn message_v2(s: &Signed) -> String {
    format!(
        "snop signature v2\ndraft {}\nartifact {}\ncycle {}\nversion {}\nrole {}\nsigner {}\ncontent_sha256 {}\nat {}\naudit_count {}\naudit_hash {}\n",
        s.draft_id, s.artifact, s.cycle, s.version, s.role, s.actor, s.sha, s.at, s.audit_count, s.audit_hash
    )
}

/// The ed25519 signature of a message, as hex.
pub fn sign(key: &SigningKey, message: &str) -> String {
    hex::encode(key.sign(message.as_bytes()).to_bytes())
}

/// Whether a hex signature is `key`'s over `message`.
pub fn verify(key: &VerifyingKey, message: &str, signature_hex: &str) -> bool {
    let Some(bytes) = hex::decode(signature_hex).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return false;
    };
    key.verify(message.as_bytes(), &Signature::from_bytes(&bytes)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_only_for_its_message_and_key() {
        // RFC 8032 test 1: the secret key 9d61...7f60 has the public key d75a...511a.
        let key = SigningKey::from_bytes(
            &hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
                .unwrap()
                .try_into()
                .unwrap(),
        );
        assert_eq!(
            public_text(&key.verifying_key()),
            "ed25519:d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let m = message(1, "demand_consensus", "2026-12", 1, "demand_lead", "dana.whitfield", "ab12");
        let sig = sign(&key, &m);
        assert!(verify(&key.verifying_key(), &m, &sig));
        let other = message(1, "demand_consensus", "2026-12", 1, "demand_lead", "dana.whitfield", "ab13");
        assert!(!verify(&key.verifying_key(), &other, &sig), "another content hash");
        let someone_else = generate().unwrap();
        assert!(!verify(&someone_else.verifying_key(), &m, &sig), "another person's key");
        assert!(!verify(&key.verifying_key(), &m, "00"), "not a signature");
        assert_eq!(parse_public(&public_text(&key.verifying_key())).unwrap(), key.verifying_key());
        let signed = Signed {
            draft_id: 1,
            artifact: "demand_consensus",
            cycle: "2026-12",
            version: 1,
            role: "demand_lead",
            actor: "dana.whitfield",
            sha: "ab12",
            at: "2026-12-07T10:00:00.000Z",
            audit_count: 2,
            audit_hash: "cd34",
        };
        let v2 = sign(&key, &message_v2(&signed));
        assert!(verify(&key.verifying_key(), &message_v2(&signed), &v2));
        let later = Signed { at: "2026-12-08T10:00:00.000Z", ..signed };
        assert!(!verify(&key.verifying_key(), &message_v2(&later), &v2), "another time");
        assert!(!verify(&key.verifying_key(), &m, &v2), "a version 2 signature is not a version 1 one");
        assert!(parse_public("ed25519:zz").is_err());
        assert!(parse_public("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a").is_err());
    }

    #[test]
    fn private_keys_round_trip_owner_only_and_are_never_replaced() {
        use std::os::unix::fs::PermissionsExt as _;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("keys/dana.ed25519");
        let key = generate().unwrap();
        write_private(&path, &key).unwrap();
        assert_eq!(fs_err::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(read_private(&path).unwrap().to_bytes(), key.to_bytes());
        let err = write_private(&path, &generate().unwrap()).unwrap_err();
        assert!(err.contains("already exists: snop never replaces a key"), "{err}");
        assert_eq!(read_private(&path).unwrap().to_bytes(), key.to_bytes());
    }
}
