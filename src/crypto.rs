//! Encryption at rest for server credentials and link secrets: AES-256-GCM with a random
//! 96-bit nonce per value, stored as `nonce || ciphertext+tag`.
//!
//! The key comes from `APPLINKS_SECRET_KEY` (base64 of 32 or more bytes). Longer keys are
//! condensed with SHA-256, so any strong key of 32+ bytes works.

pub mod password;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

const NONCE_LEN: usize = 12;

/// Encrypts and decrypts values with the installation's secret key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "APPLINKS_SECRET_KEY is not set: generate one with `openssl rand -base64 32` and keep it safe (it encrypts server credentials)"
    )]
    Missing,
    #[error("APPLINKS_SECRET_KEY is not valid base64")]
    NotBase64,
    #[error("APPLINKS_SECRET_KEY must decode to at least 32 bytes (it decodes to {0})")]
    TooShort(usize),
}

#[derive(Debug, thiserror::Error)]
#[error("a stored secret could not be decrypted: was APPLINKS_SECRET_KEY changed?")]
pub struct DecryptError;

impl SecretBox {
    /// Builds the box from the base64 key.
    pub fn from_base64(key: Option<&SecretString>) -> Result<Self, KeyError> {
        let key = key.ok_or(KeyError::Missing)?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(key.expose_secret().trim())
            .map_err(|_| KeyError::NotBase64)?;
        if raw.len() < 32 {
            return Err(KeyError::TooShort(raw.len()));
        }
        let key: [u8; 32] = if raw.len() == 32 {
            raw.as_slice()
                .try_into()
                .map_err(|_| KeyError::TooShort(raw.len()))?
        } else {
            Sha256::digest(&raw).into()
        };
        Ok(Self {
            cipher: Aes256Gcm::new(&key.into()),
        })
    }

    /// A fresh random key, base64 (for `applinks demo` and tests).
    pub fn generate_key() -> SecretString {
        let bytes: [u8; 32] = rand::random();
        SecretString::from(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn encrypt(&self, plaintext: &str) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rand::random();
        let mut out = nonce.to_vec();
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plaintext.as_bytes())
            .expect("AES-GCM encryption of an in-memory value cannot fail");
        out.extend_from_slice(&sealed);
        out
    }

    pub fn decrypt(&self, stored: &[u8]) -> Result<SecretString, DecryptError> {
        if stored.len() < NONCE_LEN {
            return Err(DecryptError);
        }
        let (nonce, sealed) = stored.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| DecryptError)?;
        let plain = self
            .cipher
            .decrypt(&Nonce::from(nonce), sealed)
            .map_err(|_| DecryptError)?;
        String::from_utf8(plain)
            .map(SecretString::from)
            .map_err(|_| DecryptError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_a_random_nonce_per_value() {
        let key = SecretBox::generate_key();
        let b = SecretBox::from_base64(Some(&key)).unwrap();
        let one = b.encrypt("s3cret");
        let two = b.encrypt("s3cret");
        assert_ne!(one, two, "nonce differs per value");
        assert_eq!(b.decrypt(&one).unwrap().expose_secret(), "s3cret");
        let other = SecretBox::from_base64(Some(&SecretBox::generate_key())).unwrap();
        assert!(other.decrypt(&one).is_err(), "another key cannot read it");
    }

    #[test]
    fn refuses_missing_short_and_malformed_keys() {
        assert!(matches!(
            SecretBox::from_base64(None),
            Err(KeyError::Missing)
        ));
        let short = SecretString::from(base64::engine::general_purpose::STANDARD.encode([1u8; 16]));
        assert!(matches!(
            SecretBox::from_base64(Some(&short)),
            Err(KeyError::TooShort(16))
        ));
        let bad = SecretString::from("not base64 !!".to_string());
        assert!(matches!(
            SecretBox::from_base64(Some(&bad)),
            Err(KeyError::NotBase64)
        ));
    }
}
